//! Start at login from Settings: the XDG autostart entry appears and goes
//! (in the test's home, as with `--home`).

use iced_test::selector;

use super::Scene;
use crate::gui::screen::settings;

#[test]
fn start_at_login_writes_the_entry_and_turning_it_off_removes_it() {
    let mut s = Scene::new();
    let home = s.home.paths.config_dir.parent().expect("home").to_owned();
    let entry = crate::gui::autostart::entry_file(Some(&home)).expect("entry");
    assert!(!entry.exists(), "off by default");
    s.window.click("⚙");
    s.window
        .until("the settings", |w| w.shows("In the background"));
    // Each look at the window is a fresh one: scroll to the end, then
    // click, in one.
    let toggle = |s: &mut Scene| {
        s.window.interact(|ui| {
            ui.point_at((700.0, 400.0));
            ui.simulate([iced::Event::Mouse(iced::mouse::Event::WheelScrolled {
                delta: iced::mouse::ScrollDelta::Pixels { x: 0.0, y: -5000.0 },
            })]);
            ui.click(selector::id(settings::START_AT_LOGIN))
                .expect("the toggle");
        });
    };
    toggle(&mut s);
    s.window.until("the entry written", |_| entry.exists());
    let text = std::fs::read_to_string(&entry).expect("entry");
    assert!(text.contains("Exec=\""), "{text}");
    assert!(
        text.contains(&format!("--home \"{}\"", home.display())),
        "{text}"
    );
    toggle(&mut s);
    s.window.until("the entry removed", |_| !entry.exists());
}
