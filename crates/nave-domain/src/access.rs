//! Access control: who may do what to which records, and which fields they see.
//!
//! DOMAIN.md "Access": a permission is (record type, action) with a scope
//! (own | team | all). Field security marks some fields sensitive; a
//! principal without the matching capability gets the field *absent*, not
//! blank, in every output. Every output path calls [`Principal::redact`]; every
//! store query that lists or loads records calls [`Principal::scope_for`].
//!
//! Built-in roles are defined here in code, so that a new record type added
//! by a later release is covered by them without a data migration; custom
//! roles (defined by admins) are stored and loaded into the same [`Grants`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize)]
        pub enum $name { $($(#[$vm])* #[serde(rename = $s)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result { f.write_str(self.as_str()) }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::access::UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s { $($s => Ok($name::$variant),)+ _ => Err($crate::access::UnknownName { kind: stringify!($name), allowed: &[$($s),+] }) }
            }
        }
    };
}
pub(crate) use string_enum;

/// A name that is not one of the allowed ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("is not a known {kind}; allowed: {}", allowed.join(", "))]
pub struct UnknownName {
    pub kind: &'static str,
    pub allowed: &'static [&'static str],
}

string_enum! {
    /// The kinds of record that permissions are given for.
    RecordType {
        User => "user",
        Role => "role",
        Team => "team",
        ApiToken => "api_token",
        AuditEntry => "audit_entry",
        Event => "event",
        Account => "account",
        Contact => "contact",
        PaymentTerms => "payment_terms",
        Tax => "tax",
        TaxCategory => "tax_category",
        Product => "product",
        ProductCategory => "product_category",
        Warehouse => "warehouse",
        Stock => "stock",
        StockAdjustment => "stock_adjustment",
        StockTransfer => "stock_transfer",
        PriceList => "price_list",
        /// Files attached to a record; reading and changing them follows the record's own permissions.
        Attachment => "attachment",
        Lead => "lead",
        /// Calls, meetings, emails, tasks, notes and chats; who sees one follows its account (or lead).
        Activity => "activity",
        PipelineStage => "pipeline_stage",
        Opportunity => "opportunity",
        Case => "case",
        /// Commercial documents: their scope is their account's.
        Quote => "quote",
        SalesOrder => "sales_order",
        Invoice => "invoice",
        CreditNote => "credit_note",
        Shipment => "shipment",
        Payment => "payment",
        Subscription => "subscription",
        /// The purchase side: orders to suppliers, goods received, supplier bills and their credits, payments sent.
        PurchaseOrder => "purchase_order",
        Receipt => "receipt",
        Bill => "bill",
        BillCredit => "bill_credit",
        PaymentSent => "payment_sent",
        /// The numbering sequences of document types.
        Sequence => "sequence",
        /// The company's own details printed on documents, and the purchase receiving tolerance:
        /// everyone reads them, the admin changes them.
        CompanySettings => "company_settings",
        /// Webhook subscriptions and their delivery logs: only the admin manages them.
        Webhook => "webhook",
        /// Which system masters a field of accounts, contacts or products: the admin's.
        MasterRule => "master_rule",
        /// Changes refused by a master rule, waiting for a person to accept or dismiss them.
        SyncConflict => "sync_conflict",
        /// Connections to web shops (WooCommerce) and their intake logs: only the admin manages them.
        Integration => "integration",
    }
}

string_enum! {
    /// What a permission allows on a record type.
    Action {
        Read => "read",
        Create => "create",
        Update => "update",
        Delete => "delete",
    }
}

string_enum! {
    /// How far a permission reaches: the principal's own records, those of
    /// their team, or all records of the tenant. Ordered: own < team < all.
    Scope {
        Own => "own",
        Team => "team",
        All => "all",
    }
}

string_enum! {
    /// Named rights beyond record permissions: seeing sensitive fields and
    /// overriding checks.
    Capability {
        /// See product and line cost.
        ViewCost => "view_cost",
        /// See margins and profit figures.
        ViewMargin => "view_margin",
        /// See credit limits.
        ViewCreditLimit => "view_credit_limit",
        /// Confirm an order or issue an invoice above the credit limit (audited).
        OverrideCreditLimit => "override_credit_limit",
    }
}

/// One sensitive field: the record type, the path of the field in the
/// record's JSON (`[]` steps into every element of an array), and the
/// capability that reveals it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SensitiveField {
    pub record_type: RecordType,
    pub path: &'static str,
    pub capability: Capability,
}

/// The field-security rules. Later record types add theirs here, and every
/// output path honours them through [`Principal::redact`].
pub const SENSITIVE_FIELDS: &[SensitiveField] = &[
    SensitiveField { record_type: RecordType::Account, path: "credit_limit", capability: Capability::ViewCreditLimit },
    SensitiveField { record_type: RecordType::Product, path: "cost", capability: Capability::ViewCost },
    SensitiveField { record_type: RecordType::Product, path: "suppliers[].cost", capability: Capability::ViewCost },
    SensitiveField { record_type: RecordType::Stock, path: "unit_cost", capability: Capability::ViewCost },
    SensitiveField { record_type: RecordType::Stock, path: "value", capability: Capability::ViewCost },
    SensitiveField {
        record_type: RecordType::StockAdjustment,
        path: "lines[].unit_cost",
        capability: Capability::ViewCost,
    },
    SensitiveField {
        record_type: RecordType::StockAdjustment,
        path: "lines[].value",
        capability: Capability::ViewCost,
    },
    SensitiveField {
        record_type: RecordType::StockTransfer,
        path: "lines[].unit_cost",
        capability: Capability::ViewCost,
    },
    SensitiveField { record_type: RecordType::StockTransfer, path: "lines[].value", capability: Capability::ViewCost },
    // Invoices: the cost of goods sold recorded at issue, and the margin on it.
    SensitiveField { record_type: RecordType::Invoice, path: "cost", capability: Capability::ViewCost },
    SensitiveField { record_type: RecordType::Invoice, path: "margin", capability: Capability::ViewMargin },
    SensitiveField { record_type: RecordType::Invoice, path: "margin_percent", capability: Capability::ViewMargin },
    SensitiveField {
        record_type: RecordType::Invoice,
        path: "groups[].lines[].cost",
        capability: Capability::ViewCost,
    },
    SensitiveField {
        record_type: RecordType::Invoice,
        path: "groups[].lines[].margin",
        capability: Capability::ViewMargin,
    },
    SensitiveField {
        record_type: RecordType::Invoice,
        path: "groups[].lines[].margin_percent",
        capability: Capability::ViewMargin,
    },
    // Credit notes that return goods to stock: the cost they give back.
    SensitiveField {
        record_type: RecordType::CreditNote,
        path: "groups[].lines[].cost",
        capability: Capability::ViewCost,
    },
];

/// The permissions and capabilities of one role.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grants {
    permissions: BTreeMap<(RecordType, Action), Scope>,
    capabilities: BTreeSet<Capability>,
}

impl Grants {
    pub fn new() -> Self {
        Self::default()
    }

    /// Grants `action` on `record_type` with `scope`, widening an existing grant.
    pub fn allow(&mut self, record_type: RecordType, action: Action, scope: Scope) -> &mut Self {
        let e = self.permissions.entry((record_type, action)).or_insert(scope);
        *e = (*e).max(scope);
        self
    }

    /// Grants every action in `actions` on each of `types`.
    pub fn allow_all(&mut self, types: &[RecordType], actions: &[Action], scope: Scope) -> &mut Self {
        for &t in types {
            for &a in actions {
                self.allow(t, a, scope);
            }
        }
        self
    }

    pub fn give(&mut self, c: Capability) -> &mut Self {
        self.capabilities.insert(c);
        self
    }

    /// The scope of `action` on `record_type`, or `None` when not allowed at all.
    pub fn scope(&self, record_type: RecordType, action: Action) -> Option<Scope> {
        self.permissions.get(&(record_type, action)).copied()
    }

    pub fn has(&self, c: Capability) -> bool {
        self.capabilities.contains(&c)
    }

    pub fn permissions(&self) -> impl Iterator<Item = (RecordType, Action, Scope)> + '_ {
        self.permissions.iter().map(|(&(t, a), &s)| (t, a, s))
    }

    pub fn capabilities(&self) -> impl Iterator<Item = Capability> + '_ {
        self.capabilities.iter().copied()
    }
}

string_enum! {
    /// The roles every tenant has. Their grants are defined in code.
    BuiltinRole {
        Admin => "admin",
        SalesManager => "sales_manager",
        SalesRep => "sales_rep",
        OrderDesk => "order_desk",
        Warehouse => "warehouse",
        Accounting => "accounting",
        Support => "support",
        ReadOnly => "read_only",
    }
}

impl BuiltinRole {
    /// What the role is for, shown in the admin area.
    pub fn description(self) -> &'static str {
        match self {
            BuiltinRole::Admin => "Everything, including users, roles and settings",
            BuiltinRole::SalesManager => "All customer records, costs, margins and credit overrides",
            BuiltinRole::SalesRep => "Own accounts and their records; no costs or margins",
            BuiltinRole::OrderDesk => "Orders, shipments and invoices for all accounts",
            BuiltinRole::Warehouse => "Shipments, receipts and stock",
            BuiltinRole::Accounting => "Invoices, payments, bills, costs and margins",
            BuiltinRole::Support => "Cases and the accounts they concern",
            BuiltinRole::ReadOnly => "Reads everything except sensitive fields",
        }
    }

    /// The role's grants.
    pub fn grants(self) -> Grants {
        use Action::*;
        use RecordType as T;
        use Scope::*;
        let crud = [Read, Create, Update, Delete];
        let mut g = Grants::new();
        // Everyone may see who their colleagues are, read reference data such as
        // payment terms, and manage their own API tokens.
        g.allow(T::User, Read, All).allow(T::Team, Read, All).allow(T::Role, Read, All);
        g.allow_all(
            &[
                T::PaymentTerms,
                T::Tax,
                T::TaxCategory,
                T::Product,
                T::ProductCategory,
                T::Warehouse,
                T::Stock,
                T::StockAdjustment,
                T::StockTransfer,
                T::PriceList,
                T::PipelineStage,
                T::Sequence,
                T::CompanySettings,
            ],
            &[Read],
            All,
        );
        g.allow_all(&[T::ApiToken], &crud, Own);
        let documents = [T::Quote, T::SalesOrder, T::Invoice, T::CreditNote, T::Shipment, T::Payment, T::Subscription];
        let purchase = [T::PurchaseOrder, T::Receipt, T::Bill, T::BillCredit, T::PaymentSent];
        match self {
            BuiltinRole::Admin => {
                g.allow_all(T::ALL, &crud, All);
                for &c in Capability::ALL {
                    g.give(c);
                }
            }
            BuiltinRole::SalesManager => {
                g.allow_all(
                    &[
                        T::Account,
                        T::Contact,
                        T::Product,
                        T::ProductCategory,
                        T::PriceList,
                        T::PipelineStage,
                        T::Opportunity,
                        T::Case,
                        T::Lead,
                        T::Activity,
                    ],
                    &crud,
                    All,
                );
                g.allow_all(&[T::AuditEntry, T::Event], &[Read], All);
                // Changes other systems sent that a master rule held back: a manager settles them.
                g.allow_all(&[T::SyncConflict], &[Read, Update], All);
                g.allow_all(&[T::Quote, T::SalesOrder], &crud, All);
                g.allow_all(&documents, &[Read], All);
                // Purchasing: orders to suppliers; what follows them is read.
                g.allow_all(&[T::PurchaseOrder], &crud, All);
                g.allow_all(&purchase, &[Read], All);
                g.give(Capability::ViewCost)
                    .give(Capability::ViewMargin)
                    .give(Capability::ViewCreditLimit)
                    .give(Capability::OverrideCreditLimit);
            }
            BuiltinRole::SalesRep => {
                g.allow_all(&[T::Account, T::Opportunity], &[Read, Update, Delete], Own);
                g.allow_all(&[T::Account, T::Opportunity, T::Case], &[Create], All);
                // A rep works the cases assigned to them (a case they log is theirs).
                g.allow_all(&[T::Case], &[Read, Update], Own);
                // A contact's scope is its account's: a rep manages the contacts of their own accounts.
                g.allow_all(&[T::Contact], &crud, Own);
                // Leads are worked by their owner; activities follow the account or lead they hang from.
                g.allow_all(&[T::Lead], &[Read, Update, Delete], Own);
                g.allow(T::Lead, Create, All);
                g.allow_all(&[T::Activity], &crud, Own);
                // Documents follow their account: a rep quotes and orders for their own accounts
                // and follows what is shipped, invoiced and paid there.
                g.allow_all(&[T::Quote], &crud, Own);
                g.allow_all(&[T::SalesOrder], &[Read, Create, Update], Own);
                g.allow_all(&documents, &[Read], Own);
            }
            BuiltinRole::OrderDesk => {
                g.allow_all(&[T::Account], &[Read, Update], All);
                g.allow_all(&[T::Contact], &[Read, Create, Update], All);
                g.allow_all(
                    &[T::Quote, T::SalesOrder, T::Shipment, T::Invoice, T::CreditNote, T::Subscription],
                    &crud,
                    All,
                );
                g.allow_all(&documents, &[Read], All);
                // The order desk buys too: purchase orders and the goods received against them.
                g.allow_all(&[T::PurchaseOrder, T::Receipt], &crud, All);
                g.allow_all(&purchase, &[Read], All);
                g.give(Capability::ViewCreditLimit);
            }
            BuiltinRole::Warehouse => {
                g.allow_all(&[T::Account, T::Contact], &[Read], All);
                g.allow_all(&[T::Warehouse], &crud, All);
                g.allow_all(&[T::StockAdjustment, T::StockTransfer], &[Create], All);
                g.allow(T::SalesOrder, Read, All);
                g.allow_all(&[T::Shipment], &crud, All);
                g.allow(T::PurchaseOrder, Read, All);
                g.allow_all(&[T::Receipt], &crud, All);
            }
            BuiltinRole::Support => {
                g.allow(T::Account, Read, All);
                g.allow_all(&[T::Activity], &crud, All);
                g.allow_all(&[T::Case], &crud, All);
                g.allow_all(&[T::Contact], &[Read, Create, Update], All);
                g.allow_all(&documents, &[Read], All);
            }
            BuiltinRole::Accounting => {
                g.allow_all(&[T::Account, T::Contact], &[Read, Update], All);
                g.allow_all(&[T::PaymentTerms, T::Tax, T::TaxCategory, T::Sequence], &crud, All);
                g.allow_all(&[T::Invoice, T::CreditNote, T::Payment, T::Subscription], &crud, All);
                g.allow_all(&documents, &[Read], All);
                // Payables: supplier bills, their credits and the payments sent.
                g.allow_all(&[T::Bill, T::BillCredit, T::PaymentSent], &crud, All);
                g.allow_all(&purchase, &[Read], All);
                g.allow_all(&[T::AuditEntry, T::Event], &[Read], All);
                // Credit limits and billing details often come from the ERP: accounting settles their conflicts.
                g.allow_all(&[T::SyncConflict], &[Read, Update], All);
                g.give(Capability::ViewCost).give(Capability::ViewMargin).give(Capability::ViewCreditLimit);
            }
            BuiltinRole::ReadOnly => {
                g.allow_all(
                    &[T::Account, T::Contact, T::AuditEntry, T::Event, T::Opportunity, T::Case, T::Lead, T::Activity],
                    &[Read],
                    All,
                );
                g.allow_all(&documents, &[Read], All);
                g.allow_all(&purchase, &[Read], All);
            }
        }
        g
    }
}

/// Who is acting: a user, through a session or an API token, with the grants
/// of their role. Built once per request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub tenant_id: i64,
    pub user_id: i64,
    pub team_id: Option<i64>,
    pub role: String,
    pub grants: Arc<Grants>,
    /// The API token used, if any (`None` for a web session or the CLI).
    pub token_id: Option<i64>,
    /// The external system the caller writes for (e.g. `erp`), from its token.
    pub source: Option<String>,
}

/// The ownership of one record, for scope checks. A contact has its
/// account's ownership: who may see an account may see its contacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ownership {
    pub owner_id: Option<i64>,
    pub team_id: Option<i64>,
}

impl Principal {
    /// The scope of `action` on `record_type`, or `None` when not allowed.
    pub fn scope_for(&self, record_type: RecordType, action: Action) -> Option<Scope> {
        self.grants.scope(record_type, action)
    }

    /// May the principal do `action` on a record with this ownership?
    pub fn may(&self, record_type: RecordType, action: Action, own: Ownership) -> bool {
        match self.scope_for(record_type, action) {
            None => false,
            Some(Scope::All) => true,
            Some(Scope::Team) => {
                own.owner_id == Some(self.user_id) || (own.team_id.is_some() && own.team_id == self.team_id)
            }
            Some(Scope::Own) => own.owner_id == Some(self.user_id),
        }
    }

    pub fn has(&self, c: Capability) -> bool {
        self.grants.has(c)
    }

    /// Does the principal see `path` of records of `record_type`?
    pub fn sees_field(&self, record_type: RecordType, path: &str) -> bool {
        SENSITIVE_FIELDS
            .iter()
            .filter(|f| f.record_type == record_type && f.path == path)
            .all(|f| self.has(f.capability))
    }

    /// Removes from `value` (a record of `record_type` as JSON) every
    /// sensitive field this principal may not see. The one mechanism every
    /// output path goes through.
    pub fn redact(&self, record_type: RecordType, value: &mut serde_json::Value) {
        for f in SENSITIVE_FIELDS.iter().filter(|f| f.record_type == record_type) {
            if !self.has(f.capability) {
                remove_path(value, f.path);
            }
        }
    }

    /// The sensitive fields of `record_type` hidden from this principal.
    pub fn hidden_fields(&self, record_type: RecordType) -> Vec<&'static str> {
        SENSITIVE_FIELDS
            .iter()
            .filter(|f| f.record_type == record_type && !self.has(f.capability))
            .map(|f| f.path)
            .collect()
    }
}

/// Removes the field at `path` (`a.b`, `lines[].cost`) from a JSON value.
fn remove_path(value: &mut serde_json::Value, path: &str) {
    let (head, rest) = match path.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (path, None),
    };
    let (key, each) = match head.strip_suffix("[]") {
        Some(k) => (k, true),
        None => (head, false),
    };
    let serde_json::Value::Object(map) = value else { return };
    match (rest, each) {
        (None, _) => {
            map.remove(key);
        }
        (Some(rest), false) => {
            if let Some(v) = map.get_mut(key) {
                remove_path(v, rest);
            }
        }
        (Some(rest), true) => {
            if let Some(serde_json::Value::Array(items)) = map.get_mut(key) {
                for item in items {
                    remove_path(item, rest);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn principal(role: BuiltinRole, user_id: i64, team_id: Option<i64>) -> Principal {
        Principal {
            tenant_id: 1,
            user_id,
            team_id,
            role: role.as_str().into(),
            grants: Arc::new(role.grants()),
            token_id: None,
            source: None,
        }
    }

    #[test]
    fn a_rep_may_read_own_accounts_only() {
        let rep = principal(BuiltinRole::SalesRep, 7, Some(1));
        let own = Ownership { owner_id: Some(7), team_id: Some(1) };
        let other = Ownership { owner_id: Some(8), team_id: Some(1) };
        assert!(rep.may(RecordType::Account, Action::Read, own));
        assert!(!rep.may(RecordType::Account, Action::Read, other));
    }

    #[test]
    fn team_scope_reaches_the_team_and_own_records() {
        let mut g = Grants::new();
        g.allow(RecordType::Account, Action::Read, Scope::Team);
        let p = Principal { grants: Arc::new(g), ..principal(BuiltinRole::ReadOnly, 7, Some(3)) };
        assert!(p.may(RecordType::Account, Action::Read, Ownership { owner_id: Some(9), team_id: Some(3) }));
        assert!(p.may(RecordType::Account, Action::Read, Ownership { owner_id: Some(7), team_id: None }));
        assert!(!p.may(RecordType::Account, Action::Read, Ownership { owner_id: Some(9), team_id: Some(4) }));
        assert!(!p.may(RecordType::Account, Action::Read, Ownership { owner_id: Some(9), team_id: None }));
    }

    #[test]
    fn an_admin_may_do_everything() {
        let admin = principal(BuiltinRole::Admin, 1, None);
        for &t in RecordType::ALL {
            for &a in Action::ALL {
                assert_eq!(admin.scope_for(t, a), Some(Scope::All), "{t} {a}");
            }
        }
        for &c in Capability::ALL {
            assert!(admin.has(c));
        }
    }

    #[test]
    fn a_hidden_field_is_absent_not_blank() {
        let rep = principal(BuiltinRole::SalesRep, 7, None);
        let mut v = json!({"name": "Acme", "credit_limit": "5000.00"});
        rep.redact(RecordType::Account, &mut v);
        assert_eq!(v, json!({"name": "Acme"}));
        let mgr = principal(BuiltinRole::SalesManager, 2, None);
        let mut v = json!({"name": "Acme", "credit_limit": "5000.00"});
        mgr.redact(RecordType::Account, &mut v);
        assert_eq!(v["credit_limit"], "5000.00");
    }

    #[test]
    fn nested_paths_reach_into_arrays() {
        let mut v = json!({"lines": [{"cost": 1, "qty": 2}, {"cost": 3}], "cost": 4});
        remove_path(&mut v, "lines[].cost");
        assert_eq!(v, json!({"lines": [{"qty": 2}, {}], "cost": 4}));
    }

    #[test]
    fn widening_a_grant_never_narrows_it() {
        let mut g = Grants::new();
        g.allow(RecordType::Account, Action::Read, Scope::All);
        g.allow(RecordType::Account, Action::Read, Scope::Own);
        assert_eq!(g.scope(RecordType::Account, Action::Read), Some(Scope::All));
    }

    #[test]
    fn names_parse_back_and_unknown_names_list_the_allowed_ones() {
        for &r in BuiltinRole::ALL {
            assert_eq!(r.as_str().parse::<BuiltinRole>().unwrap(), r);
        }
        let e = "boss".parse::<BuiltinRole>().unwrap_err();
        assert!(e.to_string().contains("sales_rep"));
    }

    #[test]
    fn reps_warehouse_support_and_read_only_see_no_sensitive_field() {
        for r in [BuiltinRole::SalesRep, BuiltinRole::Warehouse, BuiltinRole::Support, BuiltinRole::ReadOnly] {
            let p = principal(r, 1, None);
            for f in SENSITIVE_FIELDS {
                assert!(!p.sees_field(f.record_type, f.path), "{r} sees {}", f.path);
            }
        }
    }
}
