//! `rdlic clearinghouse init|activate|keypack` — the vendor side (`reference/rds-facts.md` §2.7): make the
//! clearinghouse key, sign a license server's activation request, issue a signed CAL key pack for a server id.
//!
//! Files in the clearinghouse directory: `clearinghouse.key` (PKCS#8, Ed25519, mode 0600) and `clearinghouse.pub`
//! (PEM public key — give it to license servers: `rdlic server run --clearinghouse-key FILE`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use rdlic_core::{CalType, CalVersion, Clearinghouse, KeyPack, KeyPackId, LicenseProgram, ServerId};
use rdlic_api::pki;

use crate::i18n::t;

/// Private key file name.
const KEY_FILE: &str = "clearinghouse.key";
/// Public key file name.
pub(crate) const PUB_FILE: &str = "clearinghouse.pub";

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Make a new clearinghouse key pair in DIR
    Init {
        /// Clearinghouse directory
        #[arg(long, env = "RDLIC_CLEARINGHOUSE")]
        dir: PathBuf,
        /// Replace an existing key (every server activated with the old one must be activated again)
        #[arg(long)]
        force: bool,
    },
    /// Sign an activation certificate for a license server's activation request
    Activate {
        /// Clearinghouse directory
        #[arg(long, env = "RDLIC_CLEARINGHOUSE")]
        dir: PathBuf,
        /// The activation request (made by `rdlic activate --request FILE` on the license server): the server's
        /// identity public key in PEM
        #[arg(long)]
        request: PathBuf,
        /// Where to write the activation certificate (default: stdout)
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Issue a signed CAL key pack for a license server id
    Keypack {
        /// Clearinghouse directory
        #[arg(long, env = "RDLIC_CLEARINGHOUSE")]
        dir: PathBuf,
        /// License server id (`rdlic activate --request` and `rdlic keypack list` print it)
        #[arg(long)]
        server_id: String,
        /// per-device or per-user
        #[arg(long = "type", default_value = "per-device")]
        cal_type: String,
        /// CAL version (2016, 2019, 2022, 2025)
        #[arg(long, default_value = "2022")]
        version: u16,
        /// Number of CALs
        #[arg(long)]
        count: u32,
        /// License program (retail, volume, open-license, enterprise-agreement, service-provider, campus)
        #[arg(long, default_value = "retail")]
        program: String,
        /// Days until the pack expires (default: never)
        #[arg(long)]
        expires_days: Option<i64>,
        /// Where to write the key pack (default: stdout)
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn load(dir: &std::path::Path) -> anyhow::Result<Clearinghouse> {
    let path = dir.join(KEY_FILE);
    let pem = std::fs::read(&path).with_context(|| t!(CH_NO_KEY, path = path.display(), dir = dir.display()))?;
    Clearinghouse::from_pem(&pem).with_context(|| t!(CH_NOT_A_KEY, path = path.display()))
}

fn emit(out: Option<&PathBuf>, text: &str) -> anyhow::Result<()> {
    match out {
        Some(p) => std::fs::write(p, text).with_context(|| t!(WRITE_FILE, path = p.display())),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Init { dir, force } => {
            let key_path = dir.join(KEY_FILE);
            if key_path.exists() && !force {
                anyhow::bail!(t!(CH_KEY_EXISTS, path = key_path.display()));
            }
            std::fs::create_dir_all(&dir).with_context(|| t!(CREATE_DIR, path = dir.display()))?;
            let key = openssl::pkey::PKey::generate_ed25519().with_context(|| t!(CH_KEYGEN))?;
            let ch = Clearinghouse::from_private_key(key).with_context(|| t!(CH_KEYGEN))?;
            pki::write_secret(&key_path, &ch.private_key_pem()?)?;
            let pub_path = dir.join(PUB_FILE);
            pki::write_public(&pub_path, &ch.public_key().to_pem()?)?;
            println!("{}", t!(CH_INIT_KEY, path = key_path.display()));
            println!("{}", t!(CH_INIT_PUBLIC, path = pub_path.display()));
            println!("{}", t!(CH_INIT_KEY_ID, id = hex::encode(ch.public_key().key_id())));
            Ok(ExitCode::SUCCESS)
        }
        Command::Activate { dir, request, out } => {
            let ch = load(&dir)?;
            let pem = std::fs::read(&request).with_context(|| t!(READ_FILE, path = request.display()))?;
            let key = openssl::pkey::PKey::public_key_from_pem(&pem)
                .with_context(|| t!(CH_NOT_A_REQUEST, path = request.display()))?;
            let cert = ch.activate(&key.public_key_to_der()?, now())?;
            emit(out.as_ref(), &cert.to_text())?;
            eprintln!("{}", t!(CH_ACTIVATED, id = cert.server_id));
            Ok(ExitCode::SUCCESS)
        }
        Command::Keypack { dir, server_id, cal_type, version, count, program, expires_days, out } => {
            let ch = load(&dir)?;
            // These sentences say all there is to say: the core's English reason is left out.
            let issued_to: ServerId =
                server_id.parse().map_err(|_| anyhow::anyhow!(t!(CH_BAD_SERVER_ID, id = server_id)))?;
            let cal_type: CalType = cal_type.parse().map_err(|_| anyhow::anyhow!(t!(CH_BAD_CAL_TYPE, value = cal_type)))?;
            let program: LicenseProgram =
                program.parse().map_err(|_| anyhow::anyhow!(t!(CH_BAD_PROGRAM, value = program)))?;
            if count == 0 {
                anyhow::bail!(t!(CH_COUNT_ZERO));
            }
            let mut id = [0u8; 16];
            openssl::rand::rand_bytes(&mut id)?;
            let issued_at = now();
            let pack = KeyPack {
                id: KeyPackId(id),
                cal_type,
                version: CalVersion(version),
                program,
                count,
                issued_at,
                expires_at: expires_days.map(|d| issued_at.saturating_add(d.saturating_mul(rdlic_core::DAY))),
                issued_to,
            };
            let signed = ch.issue_key_pack(pack)?;
            emit(out.as_ref(), &signed.to_text())?;
            eprintln!(
                "{}",
                t!(CH_KEYPACK_ISSUED, id = KeyPackId(id), count = count, kind = cal_type, version = version, server = issued_to)
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
