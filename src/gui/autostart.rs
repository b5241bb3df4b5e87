//! Start at login, on desktops that follow the XDG autostart spec: a
//! desktop entry in `~/.config/autostart` (or, with `--home`, in that
//! folder's `autostart`, so tests and portable copies leave the session
//! alone).
//!
//! The window's process confines itself to Sotto's own folders once the
//! window is up, and the autostart folder is not one of them: a process
//! that may write there may make anything run at the next login. So one
//! thread, started before the confinement, keeps that access and does one
//! thing: on `true` it writes our entry, with its fixed contents, and on
//! `false` it removes it. Nothing else can be asked of it.

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use futures::channel::oneshot;

use super::notify::APP_ID;

type Request = (bool, oneshot::Sender<Result<(), String>>);

/// The handle of the writer thread.
#[derive(Clone)]
pub struct Autostart {
    requests: mpsc::Sender<Request>,
}

impl std::fmt::Debug for Autostart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Autostart")
    }
}

/// Where the entry goes: beside `home` when Sotto runs on one, else in the
/// user's autostart folder.
pub fn entry_file(home: Option<&Path>) -> Option<PathBuf> {
    let dir = match home {
        Some(home) => home.join("autostart"),
        None => directories::BaseDirs::new()?.config_dir().join("autostart"),
    };
    Some(dir.join(format!("{APP_ID}.desktop")))
}

impl Autostart {
    /// Starts the writer. Must run before the process confines itself.
    pub fn spawn(home: Option<&Path>) -> Option<Self> {
        let file = entry_file(home)?;
        let entry = entry(&program(), home);
        let (requests, received) = mpsc::channel::<Request>();
        std::thread::Builder::new()
            .name("autostart".into())
            .spawn(move || {
                for (on, answer) in received {
                    let _ = answer
                        .send(apply(&file, on, &entry).map_err(|e| {
                            format!("Sotto could not change {}: {e}", file.display())
                        }));
                }
            })
            .ok()?;
        Some(Self { requests })
    }

    /// Starts Sotto at login (or no longer).
    pub async fn set(self, on: bool) -> Result<(), String> {
        let (answer, answered) = oneshot::channel();
        self.requests
            .send((on, answer))
            .map_err(|_| "the autostart writer has stopped".to_owned())?;
        answered
            .await
            .unwrap_or_else(|_| Err("the autostart writer has stopped".into()))
    }
}

/// What runs at login: the AppImage itself when this is one (its runtime
/// says where it is), else this binary.
fn program() -> PathBuf {
    std::env::var_os("APPIMAGE")
        .map(PathBuf::from)
        .or_else(|| std::env::current_exe().ok())
        .unwrap_or_else(|| PathBuf::from("sotto"))
}

fn apply(file: &Path, on: bool, entry: &str) -> std::io::Result<()> {
    if !on {
        return match std::fs::remove_file(file) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other,
        };
    }
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    // Whole or not at all: a session never reads half an entry.
    let tmp = file.with_extension("desktop.tmp");
    std::fs::write(&tmp, entry)?;
    std::fs::rename(&tmp, file)
}

/// Our autostart entry (Desktop Entry Specification 1.5).
fn entry(program: &Path, home: Option<&Path>) -> String {
    let mut exec = quote(&program.to_string_lossy());
    // At login, into the tray (the window shows where there is none).
    exec.push_str(" --background");
    if let Some(home) = home {
        exec.push_str(" --home ");
        exec.push_str(&quote(&home.to_string_lossy()));
    }
    format!(
        "[Desktop Entry]\n\
         Type=Application\n\
         Name=Sotto\n\
         Comment=Start Sotto when you log in\n\
         Exec={exec}\n\
         Icon={APP_ID}\n\
         Terminal=false\n\
         X-GNOME-Autostart-enabled=true\n"
    )
}

/// One Exec argument: in double quotes, with the characters the spec
/// reserves escaped, and `%` doubled (it starts a field code).
fn quote(arg: &str) -> String {
    let mut out = String::from("\"");
    for c in arg.chars() {
        match c {
            '"' | '`' | '$' | '\\' => {
                // The value is read as a string first, which takes one
                // level of backslashes: the spec's two levels.
                out.push_str("\\\\");
                out.push(c);
            }
            '%' => out.push_str("%%"),
            '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entry_runs_this_program_on_this_home_quoted_as_the_spec_says() {
        let text = entry(
            Path::new("/opt/My Apps/sotto"),
            Some(Path::new("/home/a/100% \"x\"$y")),
        );
        assert!(text.starts_with("[Desktop Entry]\nType=Application\n"));
        assert!(
            text.contains(
                "Exec=\"/opt/My Apps/sotto\" --background --home \"/home/a/100%% \\\\\"x\\\\\"\\\\$y\"\n"
            ),
            "{text}"
        );
        assert!(!entry(Path::new("/usr/bin/sotto"), None).contains("--home"));
    }

    #[test]
    fn on_writes_the_entry_and_off_removes_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let autostart = Autostart::spawn(Some(dir.path())).expect("writer");
        let file = entry_file(Some(dir.path())).expect("file");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        rt.block_on(autostart.clone().set(true)).expect("on");
        let text = std::fs::read_to_string(&file).expect("the entry");
        assert!(text.contains("X-GNOME-Autostart-enabled=true"));
        assert!(text.contains(&dir.path().to_string_lossy().into_owned()));
        rt.block_on(autostart.clone().set(false)).expect("off");
        assert!(!file.exists());
        // Off twice is still off.
        rt.block_on(autostart.set(false)).expect("off again");
    }
}
