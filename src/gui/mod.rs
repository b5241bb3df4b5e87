//! The desktop window. For now a plain window that shows the configured
//! accounts; the conversations UI comes with the GUI work.

use std::path::Path;

use iced::widget::{column, container, text};
use iced::{Element, Length, Task};
use sotto::config::Config;
use sotto::paths::Paths;

struct App {
    accounts: Vec<String>,
    problem: Option<String>,
}

#[derive(Debug, Clone)]
enum Message {}

pub fn run(home: Option<&Path>) -> anyhow::Result<()> {
    let (accounts, problem) = match Paths::resolve(home)
        .map_err(anyhow::Error::from)
        .and_then(|p| Config::load(&p.config_file()).map_err(anyhow::Error::from))
    {
        Ok(config) => (
            config.accounts.iter().map(|a| a.jid.to_string()).collect(),
            None,
        ),
        Err(e) => (Vec::new(), Some(format!("{e:#}"))),
    };
    iced::application(
        move || {
            (
                App {
                    accounts: accounts.clone(),
                    problem: problem.clone(),
                },
                Task::none(),
            )
        },
        update,
        view,
    )
    .title("Sotto")
    .window_size((720.0, 480.0))
    .run()?;
    Ok(())
}

fn update(_app: &mut App, message: Message) -> Task<Message> {
    match message {}
}

fn view(app: &App) -> Element<'_, Message> {
    let mut body = column![text("Sotto").size(32)].spacing(12);
    if let Some(problem) = &app.problem {
        body = body.push(text(problem.clone()));
    } else if app.accounts.is_empty() {
        body = body.push(text(
            "No account yet. Add one with: sotto account add alice@example.org",
        ));
    } else {
        body = body.push(text("Accounts:"));
        for jid in &app.accounts {
            body = body.push(text(format!("• {jid}")));
        }
    }
    container(body)
        .padding(24)
        .width(Length::Fill)
        .height(Length::Fill)
        .into()
}
