//! Full-window screens: unlocking the store, then the dashboard and the
//! pages it shows (sign-in, contacts, settings).

pub mod contacts;
pub mod dashboard;
pub mod settings;
pub mod sign_in;
pub mod unlock;
