//! Nave's domain: the rules users and accountants rely on, free of any I/O.
//!
//! Nothing in this crate talks to a database or the network; the store and the
//! web crates call into it, so every rule here is tested with plain unit and
//! property tests.
#![forbid(unsafe_code)]

pub mod access;
pub mod account;
pub mod activity;
pub mod address;
pub mod case;
pub mod catalog;
pub mod contact;
pub mod dates;
pub mod document;
pub mod duplicates;
pub mod email;
pub mod error;
pub mod external_id;
pub mod forecast;
pub mod ids;
pub mod locale;
pub mod money;
pub mod pipeline;
pub mod price_list;
pub mod pricing;
pub mod search;
pub mod stock;
pub mod subscription;
pub mod sync;
pub mod tax;
pub mod terms;
pub mod woocommerce;

pub use error::{DomainError, FieldError};
