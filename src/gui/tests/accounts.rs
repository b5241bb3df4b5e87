//! Adding an account from the window on the test server, creating one
//! there, and removing it again.

use sotto::model::BareJid;
use sotto::xmpp::RetryPolicy;

use super::client::TestClient;
use super::window::Window;
use super::{Home, harness, rt};
use crate::gui::screen::sign_in::{JID, PASSWORD, PASSWORD_AGAIN, SERVER};
use crate::gui::screen::unlock::PASSPHRASE;

/// Fills the form for `jid` on the test server (Advanced: its address).
fn fill(w: &mut Window, jid: &str, password: &str) {
    w.type_in(JID.into(), jid);
    w.type_in(PASSWORD.into(), password);
    w.click("Advanced: server, port, TLS, Tor");
    w.type_in(SERVER.into(), &harness::shared().starttls_address());
}

/// Trusts the test server's certificate (its CA is not the system's) and
/// waits for the account to be signed in and saved.
fn trust_and_wait(w: &mut Window, jid: &BareJid) {
    w.until("the certificate question", |w| {
        w.shows("This server's certificate is not trusted")
    });
    assert!(w.shows(&harness::shared().fingerprint.to_string()));
    w.click("Trust this certificate");
    let online = format!("{jid} · online");
    w.until("signed in and saved", |w| w.shows(&online));
}

/// Removes the account in Settings; the window asks for a new one.
fn remove(w: &mut Window, jid: &BareJid) {
    w.click("⚙");
    w.click("Remove…");
    assert!(w.shows("Remove this account, its messages and its password from this computer?"));
    w.click("Remove");
    w.until("the account gone", |w| w.shows("Welcome to Sotto"));
    assert!(w.dashboard().config().account(jid).is_none());
}

#[test]
fn signing_in_pins_the_certificate_shown_and_saves_the_account() {
    let server = harness::shared();
    let (user, password) = harness::new_user(server, "signin");
    let jid = server.account(&user).jid;
    let home = Home::new(&[]);
    let mut w = home.open();
    w.until("the welcome", |w| w.shows("Welcome to Sotto"));
    fill(&mut w, jid.as_str(), "not the password");
    w.click("Sign in");
    w.until("the certificate question", |w| {
        w.shows("This server's certificate is not trusted")
    });
    w.click("Trust this certificate");
    w.until("the refusal", |w| w.shows_part("password"));
    assert!(w.dashboard().config().accounts.is_empty(), "nothing saved");

    // The right password this time (the certificate is asked about again:
    // nothing of the failed attempt was kept).
    w.interact(|ui| {
        ui.click(iced_test::selector::id(PASSWORD))
            .expect("password");
        for _ in 0.."not the password".len() {
            ui.tap_key(iced::keyboard::Key::Named(
                iced::keyboard::key::Named::Backspace,
            ));
        }
        ui.typewrite(&password);
    });
    w.click("Sign in");
    trust_and_wait(&mut w, &jid);
    let saved = sotto::config::Config::load(&home.paths.config_file()).expect("config");
    let account = saved.account(&jid).expect("saved");
    assert_eq!(account.pinned_certificate, Some(server.fingerprint));
    remove(&mut w, &jid);
    let file = home.paths.config_file();
    w.until("the settings written", |_| {
        sotto::config::Config::load(&file).is_ok_and(|c| c.accounts.is_empty())
    });
}

#[test]
fn creating_an_account_asks_for_the_password_twice_and_creates_it_on_the_server() {
    let server = harness::shared();
    let user = harness::user("created");
    let jid: BareJid = format!("{user}@{}", harness::DOMAIN).parse().expect("jid");
    let home = Home::new(&[]);
    let mut w = home.open();
    w.until("the welcome", |w| w.shows("Welcome to Sotto"));
    w.click("This is a new account: create it on the server");
    assert!(w.shows("Create account"));
    fill(&mut w, jid.as_str(), "first try");
    w.type_in(PASSWORD_AGAIN.into(), "frist try");
    w.click("Create account");
    assert!(w.shows("The two passwords differ: type the same one twice."));
    w.interact(|ui| {
        ui.click(iced_test::selector::id(PASSWORD_AGAIN))
            .expect("again");
        for _ in 0..9 {
            ui.tap_key(iced::keyboard::Key::Named(
                iced::keyboard::key::Named::Backspace,
            ));
        }
        ui.typewrite("first try");
    });
    w.click("Create account");
    assert!(w.shows("Creating the account on the server…") || w.shows_part("certificate"));
    trust_and_wait(&mut w, &jid);

    // It exists on the server: another client signs in with it.
    rt().block_on(async {
        let mut other = TestClient::start(server.account(&user), "first try", RetryPolicy::Never);
        other.online().await;
    });
    remove(&mut w, &jid);
}

#[test]
fn a_wrong_passphrase_is_said_and_the_right_one_opens() {
    let home = Home::new(&[]);
    let mut w = Window::start(home.paths.clone(), home.config.clone());
    w.until("the unlock screen", |w| w.shows("Unlock Sotto"));
    w.type_in(PASSPHRASE.into(), "wrong");
    w.click("Unlock");
    w.until("the refusal", |w| {
        w.shows("That passphrase does not open Sotto's database. Try again.")
    });
    w.type_in(PASSPHRASE.into(), super::PASSPHRASE);
    w.click("Unlock");
    w.until("the welcome", |w| w.shows("Welcome to Sotto"));
}
