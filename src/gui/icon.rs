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
    let (rgba, width, height) = rgba(data)?;
    iced::window::icon::from_rgba(rgba, width, height).map_err(|e| e.to_string())
}

/// The icon for the tray (StatusNotifierItem's IconPixmap: ARGB32 in
/// network byte order), with a red dot at the top right when something
/// is unread.
#[cfg(all(unix, not(target_os = "macos")))]
pub fn tray_pixmap(dot: bool) -> Option<(Vec<u8>, u32, u32)> {
    let (mut rgba, width, height) = rgba(PNG).ok()?;
    if dot {
        // The icon is square.
        let w = f64::from(width);
        let (cx, cy, r) = (w * 0.75, w * 0.25, w * 0.22);
        for (i, px) in rgba.chunks_exact_mut(4).enumerate() {
            let (x, y) = (
                (i % width as usize) as f64 + 0.5,
                (i / width as usize) as f64 + 0.5,
            );
            let d = ((x - cx).powi(2) + (y - cy).powi(2)).sqrt();
            if d <= r {
                px.copy_from_slice(&[0xe0, 0x24, 0x24, 0xff]);
            } else if d <= r + 1.5 {
                // A white ring keeps the dot apart from the icon.
                px.copy_from_slice(&[0xff, 0xff, 0xff, 0xff]);
            }
        }
    }
    let argb = rgba
        .chunks_exact(4)
        .flat_map(|p| [p[3], p[0], p[1], p[2]])
        .collect();
    Some((argb, width, height))
}

/// 8-bit RGBA pixels, width and height.
fn rgba(data: &[u8]) -> Result<(Vec<u8>, u32, u32), String> {
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
    Ok((rgba, frame.width, frame.height))
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
