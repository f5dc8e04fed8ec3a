//! The command line in English and French (issue 5, "Messages"): the real `rdlic` binary run with `LANG=fr_FR.UTF-8`
//! and with `--lang en`, for commands that need no server and against a real license server on 127.0.0.1, asserting
//! the French sentences and the absence of the English ones (and the other way round); plus a scan of the sources
//! that every `t!(KEY, name = ...)` passes exactly the placeholders its message has.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use rdlic_i18n::{placeholders, Lang};

mod common;

use common::{Tmp, RDLIC};

/// How the language is chosen for one run.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Pick {
    /// `LANG=fr_FR.UTF-8`, nothing else set.
    FrenchLocale,
    /// `LANG=fr_FR.UTF-8` but `--lang en` on the command line.
    EnglishFlag,
    /// `--lang fr` before the subcommand, `LANG=C.UTF-8`.
    FrenchFlag,
}

fn command(pick: Pick, args: &[&str]) -> Command {
    let mut cmd = Command::new(RDLIC);
    cmd.env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env_remove("RDLIC_LANG")
        .env("RDLIC_LOG", "warn");
    match pick {
        Pick::FrenchLocale => {
            cmd.env("LANG", "fr_FR.UTF-8");
        }
        Pick::EnglishFlag => {
            cmd.env("LANG", "fr_FR.UTF-8");
        }
        Pick::FrenchFlag => {
            cmd.env("LANG", "C.UTF-8").args(["--lang", "fr"]);
        }
    }
    cmd.args(args);
    if pick == Pick::EnglishFlag {
        cmd.args(["--lang", "en"]);
    }
    cmd
}

/// Exit code and stdout + stderr.
fn run(pick: Pick, args: &[&str]) -> (i32, String) {
    let out = command(pick, args).output().unwrap();
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

/// Runs `args` in French and in English and checks each output has its own language's phrases and none of the
/// other's. Returns both outputs.
fn both(args: &[&str], fr: &[&str], en: &[&str]) -> (String, String) {
    let (code_fr, out_fr) = run(Pick::FrenchLocale, args);
    let (code_en, out_en) = run(Pick::EnglishFlag, args);
    assert_eq!(
        code_fr, code_en,
        "{args:?}: the exit code does not depend on the language\n{out_fr}\n{out_en}"
    );
    for phrase in fr {
        assert!(
            out_fr.contains(phrase),
            "{args:?}: French output lacks {phrase:?}:\n{out_fr}"
        );
        assert!(
            !out_en.contains(phrase),
            "{args:?}: French {phrase:?} in the English output:\n{out_en}"
        );
    }
    for phrase in en {
        assert!(
            out_en.contains(phrase),
            "{args:?}: English output lacks {phrase:?}:\n{out_en}"
        );
        assert!(
            !out_fr.contains(phrase),
            "{args:?}: English {phrase:?} leaks into the French output:\n{out_fr}"
        );
    }
    (out_fr, out_en)
}

const CORE: &str = r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\RCM\Licensing Core";

#[test]
fn host_side_commands_speak_french_with_lang_and_english_with_the_flag() {
    let tmp = Tmp::new("host");
    let host = tmp.path("host");

    // grace: the WMI property names stay, the note is translated.
    let (fr, _) = both(
        &["grace", "--dir", &host],
        &["l’hôte n’a pas encore démarré : la période de grâce commencera à son premier démarrage"],
        &["the host has not started yet: the grace period starts at its first start"],
    );
    assert!(
        fr.contains("DaysLeft = 120;") && fr.contains("ReturnValue = 0;"),
        "{fr}"
    );

    // reg add / query: reg.exe's messages in the language, the registry paths and value names as on Windows.
    both(
        &[
            "reg",
            "--dir",
            &host,
            "add",
            CORE,
            "/v",
            "LicensingMode",
            "/t",
            "REG_DWORD",
            "/d",
            "4",
        ],
        &[
            "L’opération a réussi.",
            "remarque : l’hôte de session lit cette valeur à son prochain démarrage",
        ],
        &[
            "The operation completed successfully.",
            "note: the session host reads this value at its next start",
        ],
    );
    let (fr, en) = both(
        &["reg", "--dir", &host, "query", CORE, "/v", "LicensingMode"],
        &[],
        &[],
    );
    for out in [&fr, &en] {
        assert!(
            out.contains(
                r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\Terminal Server\RCM\Licensing Core"
            ),
            "{out}"
        );
        assert!(out.contains("LicensingMode    REG_DWORD    0x4"), "{out}");
    }
    both(
        &["reg", "--dir", &host, "add", CORE, "/v", "LicensingMode", "/t", "REG_DWORD", "/d", "3"],
        &["erreur : LicensingMode 3 n’est pas pris en charge : utilisez 2 (par périphérique), 4 (par utilisateur)"],
        &["error: LicensingMode 3 is not supported: use 2 (per device), 4 (per user)"],
    );
    both(
        &["reg", "--dir", &host, "query", r"HKCU\Software"],
        &["ERREUR : nom de clé non valide"],
        &["ERROR: Invalid key name"],
    );
    both(
        &["reg", "--dir", &host, "query", CORE, "/v", "NoSuchValue"],
        &["ERREUR : le système n’a pas trouvé la clé ou la valeur de Registre spécifiée."],
        &["ERROR: The system was unable to find the specified registry key or value."],
    );

    // feature disable: dism's messages.
    both(
        &["feature", "--dir", &host, "disable", "Remote-Desktop-Services"],
        &[
            "Désactivation de la ou des fonctionnalités",
            "L’opération a réussi.",
            "l’hôte accepte deux connexions d’administration simultanées et ne gère plus de licences",
        ],
        &[
            "Disabling feature(s)",
            "The operation completed successfully.",
            "2 simultaneous administrative connections",
        ],
    );
    both(
        &["feature", "--dir", &host, "disable", "Telnet"],
        &["Le nom de fonctionnalité Telnet est inconnu"],
        &["Feature name Telnet is unknown"],
    );

    // A damaged host configuration: the typed error becomes a sentence that says what to do.
    std::fs::write(tmp.0.join("host").join("host.toml"), "LicensingMode = [").unwrap();
    both(
        &["grace", "--dir", &host],
        &[
            "n’est pas une configuration d’hôte valide",
            "supprimez-la pour repartir des valeurs par défaut",
        ],
        &[
            "is not a valid host configuration",
            "delete it to start from the defaults",
        ],
    );
}

#[test]
fn vendor_commands_errors_and_help_in_both_languages() {
    let tmp = Tmp::new("vendor");
    let ch = tmp.path("ch");
    let (code, fr) = run(Pick::FrenchLocale, &["clearinghouse", "init", "--dir", &ch]);
    assert_eq!(code, 0, "{fr}");
    assert!(
        fr.contains("clé du centre d’activation :") && fr.contains("(à garder secrète)"),
        "{fr}"
    );
    assert!(
        fr.contains("identifiant de la clé :") && !fr.contains("keep secret"),
        "{fr}"
    );
    both(
        &["clearinghouse", "init", "--dir", &ch],
        &["existe déjà : gardez-la (les serveurs lui font confiance) ou passez --force pour la remplacer"],
        &["already exists: keep it (servers trust it) or pass --force to replace it"],
    );
    both(
        &[
            "clearinghouse",
            "keypack",
            "--dir",
            &ch,
            "--server-id",
            "zz",
            "--count",
            "1",
        ],
        &["erreur : zz n’est pas un identifiant de serveur de licences"],
        &["error: zz is not a license server id"],
    );

    // Admin commands without a license server: what to do, in the language.
    let (fr, _) = both(
        &[
            "keypack",
            "install",
            "--data",
            &tmp.path("no-server"),
            &tmp.path("missing-pack.txt"),
        ],
        &[
            "impossible d’utiliser le dossier de données du serveur de licences",
            "fichier ou dossier introuvable",
        ],
        &[
            "cannot use the license server data dir",
            "no such file or directory",
        ],
    );
    assert!(
        fr.contains("`rdlic server run --data"),
        "the command to run stays as typed: {fr}"
    );

    // clap's own errors.
    both(
        &["keypack", "install"],
        &[
            "les arguments obligatoires suivants n’ont pas été fournis",
            "Utilisation :",
            "Pour en savoir plus",
        ],
        &[
            "the following required arguments were not provided",
            "Usage:",
            "For more information",
        ],
    );
    both(
        &["grace", "--clock-offset-days", "soon"],
        &["valeur « soon » non valide pour", "un nombre entier est attendu"],
        &["invalid value 'soon'", "invalid digit found in string"],
    );

    // --help: the top level and a subcommand, from the environment and from `--lang fr` before the subcommand.
    for pick in [Pick::FrenchLocale, Pick::FrenchFlag] {
        let (code, out) = run(pick, &["--help"]);
        assert_eq!(code, 0);
        for phrase in [
            "Licences Bureau à distance : serveur de licences",
            "Utilisation : rdlic",
            "Commandes:",
            "Afficher l’aide",
        ] {
            assert!(out.contains(phrase), "{pick:?} {phrase:?}:\n{out}");
        }
        for phrase in [
            "Remote Desktop licensing: license server",
            "Usage:",
            "Print help",
            "Install and list CAL key packs",
        ] {
            assert!(!out.contains(phrase), "{pick:?} English {phrase:?}:\n{out}");
        }
        let (code, out) = run(pick, &["keypack", "--help"]);
        assert_eq!(code, 0);
        assert!(
            out.contains("Installer et lister les packs de licences d’accès client (CAL)"),
            "{out}"
        );
        assert!(
            out.contains("Installer un fichier de pack de licences signé"),
            "{out}"
        );
        assert!(
            !out.contains("Install a signed key pack file") && !out.contains("Usage:"),
            "{out}"
        );
    }
    let (_, out) = run(Pick::FrenchFlag, &["keypack", "install", "--help"]);
    assert!(
        out.contains("[variable d’environnement : RDLIC_DATA]") && !out.contains("[env:"),
        "{out}"
    );
    let (_, out) = run(Pick::EnglishFlag, &["keypack", "--help"]);
    assert!(
        out.contains("Install and list CAL key packs") && out.contains("Usage:"),
        "{out}"
    );
    assert!(!out.contains("Installer"), "{out}");
}

/// Starts `rdlic server run` (in English: its "listening on" line is read) and returns it with its URL.
fn start_server(data: &str, ch_pub: &str) -> (Child, String) {
    let mut child = Command::new(RDLIC)
        .args([
            "--lang",
            "en",
            "server",
            "run",
            "--data",
            data,
            "--listen",
            "127.0.0.1:0",
            "--clearinghouse-key",
            ch_pub,
        ])
        .env("RDLIC_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("server exited before listening").unwrap();
        if let Some((_, url)) = line.split_once(" listening on ") {
            break url.trim().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (child, url)
}

#[test]
fn admin_commands_against_a_real_license_server_in_french() {
    let tmp = Tmp::new("admin");
    let (ch, data) = (tmp.path("ch"), tmp.path("data"));
    assert_eq!(
        run(Pick::EnglishFlag, &["clearinghouse", "init", "--dir", &ch]).0,
        0
    );
    let (mut server, _url) = start_server(&data, &tmp.path("ch/clearinghouse.pub"));

    let (code, out) = run(
        Pick::FrenchLocale,
        &["activate", "--data", &data, "--request", &tmp.path("req.pem")],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("identifiant du serveur de licences :")
            && out.contains("envoyez-la au centre d’activation"),
        "{out}"
    );
    assert!(
        !out.contains("license server id") && !out.contains("send it"),
        "{out}"
    );

    // The same listing: French headers, English ones with --lang en, and the JSON keys unchanged in French.
    let (fr, en) = both(
        &["keypack", "list", "--data", &data],
        &["identifiant", "programme", "disponibles"],
        &["available"],
    );
    assert!(
        en.starts_with("id ") && fr.starts_with("identifiant "),
        "{fr}\n{en}"
    );
    let (code, json) = run(
        Pick::FrenchLocale,
        &["keypack", "list", "--data", &data, "--json"],
    );
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert!(v["keypacks"].is_array() && v["server_id"].is_string(), "{json}");

    // An API refusal: the server's reason, and what to do in the language.
    let foreign = tmp.path("foreign.txt");
    let id = "00000000-00000000-00000000-00000001";
    let (code, out) = run(
        Pick::FrenchLocale,
        &[
            "clearinghouse",
            "keypack",
            "--dir",
            &ch,
            "--server-id",
            id,
            "--count",
            "5",
            "--out",
            &foreign,
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("licences d’accès client (CAL) per-device version 2022 pour le serveur de licences"),
        "{out}"
    );
    let (fr, _) = both(
        &["keypack", "install", "--data", &data, &foreign],
        &[
            "erreur : le serveur de licences a refusé la demande (422 foreign_pack)",
            "À faire : ce pack de licences a été émis pour un autre serveur de licences",
        ],
        &[
            "error: license server refused (422 foreign_pack)",
            "What to do: this key pack was issued to another license server",
        ],
    );
    assert!(
        fr.contains("request a pack for this server id"),
        "the server's own reason is kept: {fr}"
    );
    let (code, _) = run(
        Pick::FrenchLocale,
        &["keypack", "install", "--data", &data, &foreign],
    );
    assert_eq!(code, 3);

    server.kill().unwrap();
    server.wait().unwrap();
    let (code, fr) = run(Pick::FrenchLocale, &["license", "list", "--data", &data]);
    assert_eq!(code, 4, "{fr}");
    assert!(
        fr.contains("impossible de joindre le serveur de licences")
            && fr.contains("vérifiez que `rdlic server run` est démarré"),
        "{fr}"
    );
    assert!(!fr.contains("cannot reach"), "{fr}");
}

/// The constant name `t!` uses for a catalogue key (`grace-running` → `GRACE_RUNNING`).
fn const_name(key: &str) -> String {
    key.chars()
        .map(|c| if c == '-' { '_' } else { c.to_ascii_uppercase() })
        .collect()
}

/// `t!(KEY, a = x, b = f(y, z))` → `("KEY", ["a", "b"])` for every use in `text`.
fn t_uses(text: &str) -> Vec<(String, Vec<String>)> {
    let mut uses = Vec::new();
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut rest = code.as_str();
    while let Some(at) = rest.find("t!(") {
        let preceded_by_ident = rest[..at]
            .chars()
            .last()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
        rest = &rest[at + 3..];
        if preceded_by_ident {
            continue;
        }
        // Split the arguments at top-level commas, skipping string literals.
        let (mut depth, mut in_str, mut escaped) = (0i32, false, false);
        let mut parts = vec![String::new()];
        for c in rest.chars() {
            if in_str {
                escaped = !escaped && c == '\\';
                if c == '"' && !escaped {
                    in_str = false;
                }
                parts.last_mut().unwrap().push(c);
                continue;
            }
            match c {
                '"' => in_str = true,
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' if depth == 0 => break,
                ')' | ']' | '}' => depth -= 1,
                ',' if depth == 0 => {
                    parts.push(String::new());
                    continue;
                }
                _ => {}
            }
            parts.last_mut().unwrap().push(c);
        }
        let key = parts[0].trim().to_owned();
        if !key
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            || key.is_empty()
        {
            continue; // the macro's own definition
        }
        let names = parts[1..]
            .iter()
            .filter(|p| !p.trim().is_empty())
            .map(|p| p.split_once('=').map_or("", |(n, _)| n).trim().to_owned())
            .collect();
        uses.push((key, names));
    }
    uses
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_message_used_by_the_binary_gets_exactly_its_placeholders() {
    let en = Lang::En.catalog();
    let mut files = Vec::new();
    sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    let mut checked = 0;
    let mut problems = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (name, mut args) in t_uses(&text) {
            // `keys::NAME` compiles only if the English catalogue has the message; find which one it is.
            let Some(key) = en.keys().find(|k| const_name(k) == name) else {
                problems.push(format!("{}: t!({name}) names no message", file.display()));
                continue;
            };
            let mut expected: Vec<String> = placeholders(en.pattern(key).unwrap())
                .into_iter()
                .map(str::to_owned)
                .collect();
            args.sort();
            expected.sort();
            if args != expected {
                problems.push(format!(
                    "{}: t!({name}) passes {args:?}, {key} has {expected:?}",
                    file.display()
                ));
            }
            checked += 1;
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(checked > 100, "only {checked} uses of t! found");
}
