//! `sotto`: the GUI with no arguments, the CLI with a subcommand.

mod cli;
#[cfg(feature = "gui")]
mod gui;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    if (args.link.is_some() || args.background) && args.command.is_some() {
        use clap::CommandFactory as _;
        cli::Args::command()
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                "an xmpp: link and --background are for the window; give them without a command",
            )
            .exit();
    }
    sotto::logging::init(args.verbose);
    let result = match args.command {
        Some(command) => cli::run(args.home.as_deref(), command),
        None => start_gui(args.home.as_deref(), args.link, args.background),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            cli::report_error(&error);
            ExitCode::FAILURE
        }
    }
}

#[cfg(feature = "gui")]
fn start_gui(
    home: Option<&std::path::Path>,
    link: Option<String>,
    background: bool,
) -> anyhow::Result<ExitCode> {
    gui::run(home, link, background)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(feature = "gui"))]
fn start_gui(
    _home: Option<&std::path::Path>,
    _link: Option<String>,
    _background: bool,
) -> anyhow::Result<ExitCode> {
    anyhow::bail!("this build of Sotto has no GUI; run `sotto --help` for the commands")
}
