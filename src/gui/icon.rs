//! The window's own icon. The desktop file names the icon for launchers,
//! but X11 window managers and taskbars read it from the window itself
//! (`_NET_WM_ICON`), and a binary started outside an install has no
//! desktop file at all.

use iced::window::Icon;

/// The committed 64×64 render of `assets/icons/sotto.svg`: large enough for
/// HiDPI taskbars, small enough to decode in well under a millisecond.
const PNG: &[u8] = include_bytes!("../../assets/icons/hicolor/64x64/apps/im.sotto.Sotto.png");

/// `None` (and a log line) if the embedded file cannot be used: a window
/// without an icon is better than no window.
pub fn window_icon() -> Option<Icon> {
    match decode(PNG) {
        Ok(icon) => Some(icon),
        Err(error) => {
            tracing::warn!(%error, "window icon not set");
            None
        }
    }
}

fn decode(data: &[u8]) -> Result<Icon, String> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(data));
    // Whatever the file's colour type, hand iced 8-bit RGBA.
    decoder.set_transformations(png::Transformations::ALPHA | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
    let size = reader.output_buffer_size().ok_or("image too large")?;
    let mut rgba = vec![0; size];
    let frame = reader.next_frame(&mut rgba).map_err(|e| e.to_string())?;
    if frame.color_type != png::ColorType::Rgba || frame.bit_depth != png::BitDepth::Eight {
        return Err(format!(
            "unexpected pixels: {:?} {:?}",
            frame.color_type, frame.bit_depth
        ));
    }
    rgba.truncate(frame.buffer_size());
    iced::window::icon::from_rgba(rgba, frame.width, frame.height).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_icon_decodes_to_64_square_rgba() {
        let icon = decode(PNG).expect("icon");
        let (rgba, size) = icon.into_raw();
        assert_eq!((size.width, size.height), (64, 64));
        assert_eq!(rgba.len(), 64 * 64 * 4);
        // Not blank: the corners are transparent and the middle is not.
        assert_eq!(rgba[3], 0, "top-left corner should be transparent");
        let middle = (32 * 64 + 32) * 4;
        assert_eq!(rgba[middle + 3], 255, "centre should be opaque");
    }

    #[test]
    fn a_broken_file_is_an_error_not_a_panic() {
        assert!(decode(b"\x89PNG\r\n\x1a\nnot really").is_err());
        assert!(decode(&PNG[..PNG.len() / 2]).is_err());
    }
}
