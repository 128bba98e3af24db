//! What may be attached to a record, judged from the bytes (and, for formats
//! that share a container, the file name's extension); and how a download is
//! answered.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use nave_domain::error::ErrorCode;

use crate::error::{ApiError, ApiResult};

/// Formats kept in ZIP containers, by extension.
const ZIP_KINDS: &[(&str, &str)] = &[
    ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    ("odt", "application/vnd.oasis.opendocument.text"),
    ("ods", "application/vnd.oasis.opendocument.spreadsheet"),
    ("odp", "application/vnd.oasis.opendocument.presentation"),
    ("zip", "application/zip"),
];

/// Older office formats (OLE containers), by extension.
const OLE_KINDS: &[(&str, &str)] = &[
    ("doc", "application/msword"),
    ("xls", "application/vnd.ms-excel"),
    ("ppt", "application/vnd.ms-powerpoint"),
    ("msg", "application/vnd.ms-outlook"),
];

/// Plain-text formats, by extension.
const TEXT_KINDS: &[(&str, &str)] = &[
    ("txt", "text/plain; charset=utf-8"),
    ("csv", "text/csv; charset=utf-8"),
    ("md", "text/plain; charset=utf-8"),
    ("log", "text/plain; charset=utf-8"),
    ("eml", "message/rfc822"),
];

fn by_ext(kinds: &[(&str, &'static str)], ext: &str) -> Option<&'static str> {
    kinds.iter().find(|(e, _)| *e == ext).map(|(_, t)| *t)
}

/// The content type of an attachment, or why it is refused.
pub fn attachment_type(filename: &str, data: &[u8]) -> ApiResult<&'static str> {
    if data.is_empty() {
        return Err(ApiError::invalid("file", "is empty; send the file's bytes"));
    }
    let ext = filename.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    let found = if data.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if let Ok(f) = image::guess_format(data) {
        match f {
            image::ImageFormat::Png => Some("image/png"),
            image::ImageFormat::Jpeg => Some("image/jpeg"),
            image::ImageFormat::Gif => Some("image/gif"),
            image::ImageFormat::WebP => Some("image/webp"),
            _ => None,
        }
    } else if data.starts_with(b"PK\x03\x04") {
        by_ext(ZIP_KINDS, &ext)
    } else if data.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        by_ext(OLE_KINDS, &ext)
    } else if !data.contains(&0) && std::str::from_utf8(data).is_ok() {
        by_ext(TEXT_KINDS, &ext)
    } else {
        None
    };
    found.ok_or_else(|| {
        ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "attachments may be PDF files, PNG/JPEG/GIF/WebP images, office documents (docx, xlsx, pptx, odt, ods, \
             odp, doc, xls, ppt), ZIP archives, Outlook messages or plain text (txt, csv, md, log, eml), \
             and the file's content must match its name",
        )
    })
}

/// A file as a download: its type, an `ETag`, and `Content-Disposition:
/// attachment` so that a browser saves it rather than showing it.
pub fn download(filename: &str, content_type: &str, sha256: &str, data: Vec<u8>) -> ApiResult<Response> {
    let ascii: String =
        filename.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_ ".contains(c) { c } else { '_' }).collect();
    let encoded: String = form_urlencoded::byte_serialize(filename.as_bytes()).collect::<String>().replace('+', "%20");
    let disposition = format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}");
    let mut r = (StatusCode::OK, data).into_response();
    let h = r.headers_mut();
    let bad = |e: axum::http::header::InvalidHeaderValue| ApiError::internal(&e);
    h.insert(header::CONTENT_TYPE, HeaderValue::from_str(content_type).map_err(bad)?);
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_str(&disposition).map_err(bad)?);
    h.insert(header::ETAG, HeaderValue::from_str(&format!("\"{sha256}\"")).map_err(bad)?);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_the_bytes_and_the_extension_only_picks_within_a_container() {
        assert_eq!(attachment_type("offer.pdf", b"%PDF-1.7\n...").unwrap(), "application/pdf");
        assert_eq!(attachment_type("notes.txt", "Grüße".as_bytes()).unwrap(), "text/plain; charset=utf-8");
        assert_eq!(attachment_type("sheet.xlsx", b"PK\x03\x04rest").unwrap(), ZIP_KINDS[1].1);
        assert_eq!(attachment_type("old.doc", &[0xD0, 0xCF, 0x11, 0xE0, 1]).unwrap(), "application/msword");
    }

    #[test]
    fn scripts_pages_programs_and_mismatched_names_are_refused() {
        for (name, data) in [
            ("page.html", b"<html><script>alert(1)</script>".as_slice()),
            ("logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>".as_slice()),
            ("setup.exe", b"MZ\x90\x00\x03".as_slice()),
            ("fake.pdf", b"just text".as_slice()),
            ("archive.jar", b"PK\x03\x04".as_slice()),
        ] {
            assert_eq!(attachment_type(name, data).unwrap_err().code, ErrorCode::UnsupportedMediaType, "{name}");
        }
        assert_eq!(attachment_type("empty.txt", b"").unwrap_err().code, ErrorCode::ValidationFailed);
    }
}
