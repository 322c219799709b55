//! Every argument of every command (and subcommand) has help text: walk
//! `ctr-run [CMD...] -h` and fail on an option or argument line without
//! a description.

use crate::cli_common::ctr_run;

/// The subcommands listed under `Commands:` in a help text.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(String::from)
        .collect()
}

/// Option and argument lines of a help text that carry no description
/// (neither after the flag on its line nor on an indented line below).
fn undescribed(help: &str) -> Vec<String> {
    let lines: Vec<&str> = help.lines().collect();
    let mut bad = Vec::new();
    let mut in_args = false;
    for (i, l) in lines.iter().enumerate() {
        if l.starts_with("Options:") || l.starts_with("Arguments:") {
            in_args = true;
            continue;
        }
        if !l.starts_with(' ') {
            in_args = false;
            continue;
        }
        let t = l.trim_start();
        let indent = l.len() - t.len();
        // Flags and arguments start at column 2 or 6; descriptions below them deeper.
        if !in_args
            || indent > 6
            || !(t.starts_with('-') || t.starts_with('<') || t.starts_with('['))
        {
            continue;
        }
        // A default alone (`[default: 1]`) is no description.
        let text = |s: &str| !s.trim().is_empty() && !s.trim().starts_with("[default");
        // `  -c, --config <CONFIG>  The experiment config`: text after a gap.
        let described_here = t.split_once("  ").is_some_and(|(_, rest)| text(rest));
        let described_below = lines.get(i + 1).is_some_and(|n| {
            let nt = n.trim_start();
            n.len() - nt.len() > indent.max(6) && text(nt)
        });
        if !described_here && !described_below {
            bad.push(t.to_string());
        }
    }
    bad
}

#[test]
fn every_argument_of_every_command_has_help() {
    let mut todo: Vec<Vec<String>> = subcommands(&ctr_run(&["-h"]))
        .into_iter()
        .map(|c| vec![c])
        .collect();
    assert!(todo.len() >= 9, "{todo:?}");
    let mut missing = Vec::new();
    let mut seen = 0;
    while let Some(cmd) = todo.pop() {
        let mut args: Vec<&str> = cmd.iter().map(String::as_str).collect();
        args.push("-h");
        let help = ctr_run(&args);
        seen += 1;
        for sub in subcommands(&help) {
            let mut c = cmd.clone();
            c.push(sub);
            todo.push(c);
        }
        for a in undescribed(&help) {
            missing.push(format!("ctr-run {}: {a}", cmd.join(" ")));
        }
    }
    assert!(seen >= 10, "walked {seen} commands");
    assert!(
        missing.is_empty(),
        "arguments without help:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_checker_sees_a_missing_description() {
    let help = "Usage: x\n\nArguments:\n  [FILE]\n\nOptions:\n  -q, --quiet\n      --jobs <JOBS>  Runs at once\n      --seed <SEED>\n          [default: 1]\n      --rows <ROWS>\n          Rows\n          [default: 5]\n  -h, --help     Print help\n";
    assert_eq!(
        undescribed(help),
        ["[FILE]", "-q, --quiet", "--seed <SEED>"]
    );
}
