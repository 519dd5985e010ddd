//! Operator commands, run with the server's binary and configuration:
//!
//! - `server dead-letters list` prints the deliveries set aside, oldest first;
//! - `server dead-letters requeue SEQ SUBSCRIBER` puts one back in line;
//! - `server dead-letters requeue --all` puts them all back;
//! - `server migrate` brings the database's schema up to date and exits (a
//!   Job runs it once per release when the pods run with `CADENCE_MIGRATE=off`);
//! - `server dapr subscriptions` prints the subscriptions this process's role
//!   gives Dapr at `/dapr/subscribe` (the declarative YAMLs in `dapr/` are checked against it).
//!
//! In a cluster: `kubectl exec deploy/cadence -- server dead-letters list`.

use std::io::Write;

use chrono::Utc;

use crate::config::Config;

#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    List,
    Requeue(Option<(i64, String)>),
    Subscriptions,
    Migrate,
}

const USAGE: &str =
    "usage: server dead-letters [list | requeue SEQ SUBSCRIBER | requeue --all]\n       server dapr subscriptions";

impl Command {
    /// Reads the arguments after the program name; `None` when they name no command (serve).
    pub fn parse(args: &[String]) -> Option<Result<Self, String>> {
        let (first, rest) = args.split_first()?;
        if first == "migrate" {
            return Some(if rest.is_empty() { Ok(Self::Migrate) } else { Err(USAGE.to_owned()) });
        }
        if first == "dapr" {
            return Some(match rest {
                [what] if what == "subscriptions" => Ok(Self::Subscriptions),
                _ => Err(USAGE.to_owned()),
            });
        }
        if first != "dead-letters" {
            return Some(Err(format!("unknown command {first:?}\n{USAGE}")));
        }
        Some(match rest {
            [] => Ok(Self::List),
            [list] if list == "list" => Ok(Self::List),
            [requeue, all] if requeue == "requeue" && all == "--all" => Ok(Self::Requeue(None)),
            [requeue, seq, subscriber] if requeue == "requeue" => seq
                .parse()
                .map(|seq| Self::Requeue(Some((seq, subscriber.clone()))))
                .map_err(|_| format!("SEQ must be a number, not {seq:?}\n{USAGE}")),
            _ => Err(USAGE.to_owned()),
        })
    }
}

/// Runs a command against the configured database and prints what it did.
pub async fn run(command: Command, config: &Config, out: &mut impl Write) -> Result<(), Box<dyn std::error::Error>> {
    match command {
        Command::Subscriptions => {
            let wanted = config.role.works().then(crate::spine::consumers::topics).into_iter().flatten();
            let list = crate::dapr::subscriber::subscriptions(&config.dapr_pubsub, wanted);
            writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?;
        }
        Command::Migrate => {
            crate::store::connect_with(config.database_url.expose(), crate::store::Migrations::Apply).await?;
            writeln!(out, "the database is up to date")?;
        }
        Command::List => {
            let store = crate::store::connect(config.database_url.expose()).await?;
            let letters = store.dead_letters(1000).await?;
            if letters.is_empty() {
                writeln!(out, "no dead letters")?;
            }
            for d in letters {
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\tattempts={}\tdead_at={}\t{}",
                    d.seq,
                    d.subscriber,
                    d.event_type,
                    d.event_id,
                    d.attempts,
                    d.dead_at.to_rfc3339(),
                    d.reason
                )?;
            }
        }
        Command::Requeue(only) => {
            let store = crate::store::connect(config.database_url.expose()).await?;
            let n = store.requeue_dead_letters(only.as_ref().map(|(seq, s)| (*seq, s.as_str())), Utc::now()).await?;
            writeln!(out, "requeued {n} dead letter(s)")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn commands_parse_and_bad_ones_say_how_to_use_them() {
        assert_eq!(Command::parse(&[]), None);
        assert_eq!(Command::parse(&args(&["dapr", "subscriptions"])), Some(Ok(Command::Subscriptions)));
        assert_eq!(Command::parse(&args(&["migrate"])), Some(Ok(Command::Migrate)));
        assert!(Command::parse(&args(&["migrate", "now"])).unwrap().is_err());
        assert!(Command::parse(&args(&["dapr", "subscribe"])).unwrap().unwrap_err().contains("dapr subscriptions"));
        assert_eq!(Command::parse(&args(&["dead-letters"])), Some(Ok(Command::List)));
        assert_eq!(Command::parse(&args(&["dead-letters", "requeue", "--all"])), Some(Ok(Command::Requeue(None))));
        assert_eq!(
            Command::parse(&args(&["dead-letters", "requeue", "7", "audit-log"])),
            Some(Ok(Command::Requeue(Some((7, "audit-log".into())))))
        );
        assert!(Command::parse(&args(&["dead-letters", "requeue", "x", "audit-log"]))
            .unwrap()
            .unwrap_err()
            .contains("SEQ"));
        assert!(Command::parse(&args(&["serve"])).unwrap().is_err());
    }
}
