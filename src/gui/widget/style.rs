//! Colours, shapes and small widgets shared by the screens.

use iced::widget::{container, text};
use iced::{Background, Border, Color, Element, Length, Theme, border};
use sotto::model::Availability;

/// A stable colour per person, so an avatar is recognisable.
pub fn avatar_color(seed: &str) -> Color {
    const COLORS: [(u8, u8, u8); 8] = [
        (0xe5, 0x73, 0x73),
        (0xf0, 0x9a, 0x4a),
        (0x5c, 0xa8, 0x6b),
        (0x4d, 0x9d, 0xe0),
        (0x95, 0x75, 0xcd),
        (0xd8, 0x6b, 0xa8),
        (0x3f, 0xaa, 0xa8),
        (0x8d, 0x8f, 0x4d),
    ];
    let hash = seed
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    let (r, g, b) = COLORS[(hash % COLORS.len() as u32) as usize];
    Color::from_rgb8(r, g, b)
}

/// A nickname's colour as XEP-0392 gives it: its hue from the first two
/// bytes of its SHA-1 (so other clients show the same person in the same
/// hue), at a saturation and lightness that read on this theme.
pub fn nick_color(nick: &str, dark: bool) -> Color {
    let (s, l) = if dark { (0.7, 0.68) } else { (0.75, 0.38) };
    hsl(nick_hue(nick), s, l)
}

/// XEP-0392 §5.1: the hue angle of a text, in degrees.
fn nick_hue(nick: &str) -> f32 {
    use sha1::{Digest, Sha1};
    let hash = Sha1::digest(nick.as_bytes());
    f32::from(u16::from_le_bytes([hash[0], hash[1]])) / 65536.0 * 360.0
}

fn hsl(h: f32, s: f32, l: f32) -> Color {
    let c = (1.0 - (2.0 * l - 1.0).abs()) * s;
    let x = c * (1.0 - ((h / 60.0) % 2.0 - 1.0).abs());
    let m = l - c / 2.0;
    let (r, g, b) = match h {
        h if h < 60.0 => (c, x, 0.0),
        h if h < 120.0 => (x, c, 0.0),
        h if h < 180.0 => (0.0, c, x),
        h if h < 240.0 => (0.0, x, c),
        h if h < 300.0 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    Color::from_rgb(r + m, g + m, b + m)
}

pub fn initials(name: &str) -> String {
    // The first letter of the first two words that have one: "Bob (demo
    // bot)" is "BD", not "B(".
    name.split(|c: char| c.is_whitespace() || c == '.' || c == '_' || c == '-')
        .filter_map(|w| w.chars().find(|c| c.is_alphanumeric()))
        .take(2)
        .flat_map(char::to_uppercase)
        .collect()
}

/// A group's avatar: initials on a rounded square, so a room is told
/// from a person at a glance.
pub fn group_avatar<'a, Message: 'a>(name: &str, seed: &str, size: f32) -> Element<'a, Message> {
    let color = avatar_color(seed);
    container(text(initials(name)).size(size * 0.4).color(Color::WHITE))
        .center(Length::Fixed(size))
        .style(move |_| container::Style {
            background: Some(Background::Color(color)),
            border: border::rounded(size / 4.0),
            ..container::Style::default()
        })
        .into()
}

/// A round avatar with initials and, when known, a presence dot.
pub fn avatar<'a, Message: 'a>(
    name: &str,
    seed: &str,
    size: f32,
    presence: Option<bool>,
) -> Element<'a, Message> {
    let color = avatar_color(seed);
    let face = container(text(initials(name)).size(size * 0.4).color(Color::WHITE))
        .center(Length::Fixed(size))
        .style(move |_| container::Style {
            background: Some(Background::Color(color)),
            border: border::rounded(size / 2.0),
            ..container::Style::default()
        });
    match presence {
        None => face.into(),
        Some(online) => {
            let dot = container(iced::widget::Space::new())
                .width(size * 0.3)
                .height(size * 0.3)
                .style(move |theme: &Theme| container::Style {
                    background: Some(Background::Color(if online {
                        Color::from_rgb8(0x3c, 0xb3, 0x71)
                    } else {
                        Color::from_rgb8(0x9a, 0x9a, 0x9a)
                    })),
                    border: Border {
                        color: theme.extended_palette().background.base.color,
                        width: 2.0,
                        radius: (size * 0.15).into(),
                    },
                    ..container::Style::default()
                });
            iced::widget::stack![
                face,
                container(dot)
                    .width(Length::Fixed(size))
                    .height(Length::Fixed(size))
                    .align_right(Length::Fixed(size))
                    .align_bottom(Length::Fixed(size)),
            ]
            .into()
        }
    }
}

pub fn presence_word(a: Option<Availability>) -> &'static str {
    match a {
        None | Some(Availability::Unavailable) => "offline",
        Some(Availability::Available | Availability::Chat) => "online",
        Some(Availability::Away) => "away",
        Some(Availability::ExtendedAway) => "away for a while",
        Some(Availability::DoNotDisturb) => "busy",
    }
}

pub fn muted(theme: &Theme) -> text::Style {
    text::Style {
        color: Some(
            theme
                .extended_palette()
                .background
                .strong
                .text
                .scale_alpha(0.7),
        ),
    }
}

pub fn danger(theme: &Theme) -> text::Style {
    text::Style {
        color: Some(theme.extended_palette().danger.base.color),
    }
}

/// What the person must notice without alarm: a message that travelled
/// in clear in an encrypted chat.
pub fn warning(theme: &Theme) -> text::Style {
    text::Style {
        color: Some(theme.extended_palette().warning.base.color),
    }
}

pub fn sidebar(theme: &Theme) -> container::Style {
    let p = theme.extended_palette();
    container::Style {
        background: Some(Background::Color(p.background.weak.color)),
        ..container::Style::default()
    }
}

pub fn selected_row(theme: &Theme) -> container::Style {
    let p = theme.extended_palette();
    container::Style {
        background: Some(Background::Color(p.primary.weak.color.scale_alpha(0.35))),
        border: border::rounded(8),
        ..container::Style::default()
    }
}

pub fn bubble(outgoing: bool, highlight: bool) -> impl Fn(&Theme) -> container::Style {
    move |theme: &Theme| {
        let p = theme.extended_palette();
        let (bg, fg) = if outgoing {
            (p.primary.base.color, p.primary.base.text)
        } else {
            (p.background.strong.color, p.background.strong.text)
        };
        container::Style {
            background: Some(Background::Color(bg)),
            text_color: Some(fg),
            border: Border {
                radius: 14.0.into(),
                width: if highlight { 3.0 } else { 0.0 },
                color: p.warning.base.color,
            },
            ..container::Style::default()
        }
    }
}

pub fn badge(theme: &Theme) -> container::Style {
    let p = theme.extended_palette();
    container::Style {
        background: Some(Background::Color(p.primary.base.color)),
        text_color: Some(p.primary.base.text),
        border: border::rounded(10),
        ..container::Style::default()
    }
}

pub fn card(theme: &Theme) -> container::Style {
    let p = theme.extended_palette();
    container::Style {
        background: Some(Background::Color(p.background.base.color)),
        border: Border {
            radius: 12.0.into(),
            width: 1.0,
            color: p.background.strong.color,
        },
        shadow: iced::Shadow {
            color: Color::BLACK.scale_alpha(0.2),
            offset: iced::Vector::new(0.0, 4.0),
            blur_radius: 12.0,
        },
        ..container::Style::default()
    }
}

pub fn notice(theme: &Theme) -> container::Style {
    let p = theme.extended_palette();
    container::Style {
        background: Some(Background::Color(p.warning.weak.color.scale_alpha(0.5))),
        text_color: Some(p.background.base.text),
        border: border::rounded(8),
        ..container::Style::default()
    }
}

pub fn error_notice(theme: &Theme) -> container::Style {
    let p = theme.extended_palette();
    container::Style {
        background: Some(Background::Color(p.danger.weak.color.scale_alpha(0.6))),
        text_color: Some(p.background.base.text),
        border: border::rounded(8),
        ..container::Style::default()
    }
}

pub fn scrim(_theme: &Theme) -> container::Style {
    container::Style {
        background: Some(Background::Color(Color::BLACK.scale_alpha(0.4))),
        ..container::Style::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_read_naturally() {
        assert_eq!(initials("bob"), "B");
        assert_eq!(initials("Ada Lovelace"), "AL");
        assert_eq!(initials("jean-luc.picard"), "JL");
        assert_eq!(initials("élodie"), "É");
        assert_eq!(initials(""), "");
        assert_eq!(initials("Bob (demo bot)"), "BD");
    }

    #[test]
    fn nickname_hues_are_those_of_xep_0392() {
        // The XEP's test vectors (§14).
        for (text, angle) in [
            ("Romeo", 327.255_25_f64),
            ("juliet@capulet.lit", 209.410_4),
            ("😺", 331.199_34),
            ("council", 359.994_5),
            ("Board", 171.430_66),
        ] {
            let hue = f64::from(nick_hue(text));
            assert!((hue - angle).abs() < 0.001, "{text}: {hue}");
        }
    }
}
