//! Times as people read them: "14:05", "Yesterday", "Mon", "3 Nov".

use chrono::{DateTime, Local, NaiveDate, TimeZone};

fn local(ms: i64) -> Option<DateTime<Local>> {
    Local.timestamp_millis_opt(ms).single()
}

/// For the conversation list: the time today, else the day.
pub fn short(ms: i64, now_ms: i64) -> String {
    let (Some(t), Some(now)) = (local(ms), local(now_ms)) else {
        return String::new();
    };
    let days = (now.date_naive() - t.date_naive()).num_days();
    match days {
        0 => t.format("%H:%M").to_string(),
        1 => "Yesterday".into(),
        2..=6 => t.format("%a").to_string(),
        _ if t.format("%Y").to_string() == now.format("%Y").to_string() => {
            t.format("%-d %b").to_string()
        }
        _ => t.format("%-d %b %Y").to_string(),
    }
}

/// Under a bubble.
pub fn clock(ms: i64) -> String {
    local(ms).map_or_else(String::new, |t| t.format("%H:%M").to_string())
}

pub fn day(ms: i64) -> Option<NaiveDate> {
    local(ms).map(|t| t.date_naive())
}

/// A day separator's label.
pub fn day_label(date: NaiveDate, now_ms: i64) -> String {
    let Some(today) = day(now_ms) else {
        return date.to_string();
    };
    match (today - date).num_days() {
        0 => "Today".into(),
        1 => "Yesterday".into(),
        2..=6 => date.format("%A").to_string(),
        _ => date.format("%A %-d %B %Y").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_depend_on_distance() {
        let now = Local
            .with_ymd_and_hms(2026, 11, 23, 15, 0, 0)
            .single()
            .expect("time")
            .timestamp_millis();
        let hour = 3_600_000;
        assert_eq!(short(now - hour, now), "14:00");
        assert_eq!(short(now - 24 * hour, now), "Yesterday");
        assert!(short(now - 400 * 24 * hour, now).ends_with("2025"));
        let today = day(now).expect("day");
        assert_eq!(day_label(today, now), "Today");
        assert_eq!(day_label(today.pred_opt().expect("day"), now), "Yesterday");
    }
}
