//! Product pictures: what may be uploaded, and the thumbnails lists show.
//!
//! The bytes are decoded before anything is stored, so what is served back is
//! known to be an image of the type it claims; decoding runs under size limits
//! so that a small file cannot ask for gigabytes of pixels.

use std::io::Cursor;

use image::{ImageFormat, ImageReader, Limits};
use nave_domain::error::ErrorCode;
use nave_store::catalog::NewPicture;

use crate::error::ApiError;

/// The largest picture accepted, in bytes.
pub const MAX_PICTURE_BYTES: usize = crate::extract::MAX_UPLOAD_BYTES;
/// The largest side of a picture, in pixels.
pub const MAX_SIDE_PX: u32 = 12_000;
/// A thumbnail's largest side, in pixels.
pub const THUMBNAIL_PX: u32 = 160;

/// Checks uploaded bytes and draws the thumbnail. The type is read from the
/// bytes, not from what the client said.
pub fn prepare(data: Vec<u8>) -> Result<NewPicture, ApiError> {
    if data.is_empty() {
        return Err(ApiError::invalid("picture", "is empty; send the image's bytes"));
    }
    if data.len() > MAX_PICTURE_BYTES {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("a picture may be at most {} MiB", MAX_PICTURE_BYTES / (1024 * 1024)),
        ));
    }
    let (format, name) = match image::guess_format(&data) {
        Ok(ImageFormat::Png) => (ImageFormat::Png, "PNG"),
        Ok(ImageFormat::Jpeg) => (ImageFormat::Jpeg, "JPEG"),
        Ok(ImageFormat::WebP) => (ImageFormat::WebP, "WebP"),
        Ok(ImageFormat::Gif) => (ImageFormat::Gif, "GIF"),
        _ => {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "a picture must be a PNG, JPEG, WebP or GIF image",
            ));
        }
    };
    let mut reader = ImageReader::with_format(Cursor::new(&data), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE_PX);
    limits.max_image_height = Some(MAX_SIDE_PX);
    limits.max_alloc = Some(256 * 1024 * 1024);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| {
        let what = match e {
            image::ImageError::Limits(_) => format!("is larger than {MAX_SIDE_PX} pixels on a side"),
            _ => format!("could not be read as a {name} image; the file may be damaged"),
        };
        ApiError::invalid("picture", what)
    })?;
    let thumb = img.thumbnail(THUMBNAIL_PX, THUMBNAIL_PX);
    let mut png = Cursor::new(Vec::new());
    thumb.write_to(&mut png, ImageFormat::Png).map_err(|e| ApiError::internal(&e))?;
    Ok(NewPicture {
        content_type: format.to_mime_type().to_string(),
        width: img.width(),
        height: img.height(),
        data,
        thumbnail_png: png.into_inner(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn a_picture_keeps_its_bytes_and_gets_a_thumbnail_within_bounds() {
        let bytes = png(640, 320);
        let p = prepare(bytes.clone()).unwrap();
        assert_eq!(p.data, bytes);
        assert_eq!((p.width, p.height, p.content_type.as_str()), (640, 320, "image/png"));
        let t = image::load_from_memory(&p.thumbnail_png).unwrap();
        assert_eq!((t.width(), t.height()), (160, 80), "the aspect ratio is kept");
    }

    #[test]
    fn what_is_not_a_supported_image_is_refused() {
        assert_eq!(
            prepare(b"<svg xmlns='http://www.w3.org/2000/svg'/>".to_vec()).unwrap_err().code,
            ErrorCode::UnsupportedMediaType
        );
        assert_eq!(prepare(vec![]).unwrap_err().code, ErrorCode::ValidationFailed);
        let mut truncated = png(50, 50);
        truncated.truncate(60);
        assert_eq!(prepare(truncated).unwrap_err().code, ErrorCode::ValidationFailed);
        assert_eq!(prepare(vec![0; MAX_PICTURE_BYTES + 1]).unwrap_err().code, ErrorCode::PayloadTooLarge);
    }
}
