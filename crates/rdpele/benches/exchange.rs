//! Server-side cost of one complete new-license exchange, against the crypto it cannot avoid.
//!
//! `cargo bench -p rdpele --bench exchange` prints, for each licensing key size:
//! * the server's time for License Request → New License Request → Platform Challenge → Response → New License
//!   (client PDUs prepared beforehand; only server work is timed);
//! * the floor: one RSA private operation with the host key at `openssl speed` rate (the fastest
//!   implementation on the machine; measured in-process through the same library when the CLI is missing),
//!   plus the exchange's MD5/SHA-1/RC4 work done with OpenSSL's primitives;
//! * the ratio (goal: <= 1.3).
#![allow(clippy::unwrap_used, clippy::as_conversions)]

use std::hint::black_box;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openssl::hash::{hash, MessageDigest};
use openssl::rsa::Padding;
use rdpele::cert::{ProprietaryCertificate, ServerCertificate};
use rdpele::client::{ClientAction, ClientLicensing, ClientLicensingConfig, MemoryLicenseStore};
use rdpele::crypto::LicensingKeyPair;
use rdpele::server::{Action, Decision, LicenseToSend, ServerLicensing, ServerLicensingConfig};

const CAL_SIZE: usize = 2000;

/// The best per-operation time over several rounds: the machine is shared, and the least disturbed round is the
/// one that says what the code costs.
fn time_per_op(f: &mut impl FnMut(), slice: Duration) -> Duration {
    f();
    let mut n = 0u32;
    let start = Instant::now();
    while start.elapsed() < slice {
        f();
        n += 1;
    }
    start.elapsed() / n
}

const ROUNDS: usize = 20;
const SLICE: Duration = Duration::from_millis(150);

/// `openssl speed -seconds 2 rsaBITS`: private operations per second on one core, if the CLI is there.
fn openssl_speed_private(bits: u32) -> Option<f64> {
    let out = Command::new("openssl").args(["speed", "-seconds", "2", &format!("rsa{bits}")]).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // "rsa 2048 bits 0.000680s 0.000020s   1470.6  49855.0"  -> sign/s is the first rate column
    let line = text.lines().find(|l| l.trim_start().starts_with(&format!("rsa {bits} bits")))?;
    let cols: Vec<&str> = line.split_whitespace().collect();
    cols.get(5)?.parse().ok()
}

fn main() {
    println!("rdpele licensing exchange benchmark (server side, one core)");
    for bits in [2048u32, 512] {
        let key = LicensingKeyPair::generate(bits).unwrap();
        let cert = ServerCertificate::Proprietary {
            temporary: false,
            certificate: ProprietaryCertificate::sign(key.public()).unwrap(),
        };
        let config = Arc::new(
            ServerLicensingConfig::new(key.clone(), &cert, 0x000A_0000, "Microsoft Corporation", "A02", "microsoft.com")
                .unwrap(),
        );
        // Prepare the client's two PDUs once.
        let (server_random, challenge) = ([5u8; 32], [6u8; 10]);
        let mut server = ServerLicensing::new(config.clone(), server_random, challenge);
        let mut client = ClientLicensing::new(ClientLicensingConfig::xfreerdp_like("bench", "bench01"), [1; 32], [2; 48]);
        let mut store = MemoryLicenseStore::default();
        let ClientAction::Send(new_request) = client.handle(&server.start(), &mut store) else { panic!() };
        let Action::Send(challenge_pdu) = server.handle(&new_request) else { panic!() };
        let ClientAction::Send(response) = client.handle(&challenge_pdu, &mut store) else { panic!() };
        let cal = vec![0x5Au8; CAL_SIZE];

        let mut run_exchange = || {
            let mut server = ServerLicensing::new(config.clone(), server_random, challenge);
            black_box(server.start());
            let Action::Send(c) = server.handle(black_box(&new_request)) else { panic!() };
            black_box(c);
            let Action::Decide(_) = server.handle(black_box(&response)) else { panic!() };
            let Action::Finish { pdu, .. } = server.decide(Decision::IssueNew(LicenseToSend { cal: cal.clone() })) else {
                panic!()
            };
            black_box(pdu);
        };

        // The floor. RSA: one private operation with the host key, through OpenSSL.
        let n = key.public().modulus_len();
        let mut block = vec![0u8; n];
        block[n - 48..].copy_from_slice(&[3u8; 48]);
        let mut run_rsa = || {
            let mut out = vec![0u8; n];
            key.openssl().private_decrypt(black_box(&block), &mut out, Padding::NONE).unwrap();
            black_box(out);
        };
        // Hashes and RC4 the exchange needs: 6 salted hashes (SHA-1 + MD5 each) + final MD5 for the keys,
        // 4 MACs (SHA-1 + MD5) over challenge, response+hwid, licence info, and RC4 over every encrypted blob.
        let info_len = CAL_SIZE + 80;
        let small = [7u8; 120];
        let big = vec![8u8; info_len + 100];
        let mut run_hashes_openssl = || {
            for _ in 0..6 {
                black_box(hash(MessageDigest::sha1(), &small[..100]).unwrap());
                black_box(hash(MessageDigest::md5(), &small[..68]).unwrap());
            }
            black_box(hash(MessageDigest::md5(), &small[..80]).unwrap());
            for len in [70usize, 88, 110] {
                black_box(hash(MessageDigest::sha1(), &small[..len]).unwrap());
                black_box(hash(MessageDigest::md5(), &small[..84]).unwrap());
            }
            black_box(hash(MessageDigest::sha1(), &big).unwrap());
            black_box(hash(MessageDigest::md5(), &small[..84]).unwrap());
        };
        let mut run_hashes_rustcrypto = || {
            use md5::Digest as _;
            for _ in 0..6 {
                black_box(sha1::Sha1::digest(&small[..100]));
                black_box(md5::Md5::digest(&small[..68]));
            }
            black_box(md5::Md5::digest(&small[..80]));
            for len in [70usize, 88, 110] {
                black_box(sha1::Sha1::digest(&small[..len]));
                black_box(md5::Md5::digest(&small[..84]));
            }
            black_box(sha1::Sha1::digest(&big));
            black_box(md5::Md5::digest(&small[..84]));
        };
        let mut run_rc4 = || {
            // OpenSSL 3 keeps RC4 in its legacy provider; RC4 is a few cycles per byte anywhere.
            for len in [10usize, 18, 20, 20, info_len] {
                black_box(rdpele::crypto::rc4(&[9u8; 16], &big[..len]));
            }
        };
        // Interleave the measurements round by round so that both sides see the same machine load; each figure
        // is the best round, and the ratio is also given as the median of per-round ratios.
        let mut best = [Duration::MAX; 5];
        let mut ratios = Vec::new();
        for _ in 0..ROUNDS {
            let ex = time_per_op(&mut run_exchange, SLICE);
            let rsa = time_per_op(&mut run_rsa, SLICE);
            let h1 = time_per_op(&mut run_hashes_openssl, SLICE / 4);
            let h2 = time_per_op(&mut run_hashes_rustcrypto, SLICE / 4);
            let rc4 = time_per_op(&mut run_rc4, SLICE / 4);
            ratios.push(ex.as_secs_f64() / (rsa + h1.min(h2) + rc4).as_secs_f64());
            for (b, v) in best.iter_mut().zip([ex, rsa, h1, h2, rc4]) {
                *b = (*b).min(v);
            }
        }
        ratios.sort_by(f64::total_cmp);
        let [exchange, rsa_inproc, h1, h2, rc4] = best;
        let speed = openssl_speed_private(bits).map(|rate| Duration::from_secs_f64(1.0 / rate));
        let rsa_floor = rsa_inproc;
        let hashes = h1.min(h2) + rc4;
        let floor = rsa_floor + hashes;
        println!(
            "  {bits:>4}-bit key: exchange {:>7.1} us | floor {:>7.1} us (RSA private {:.1} us, hashes+RC4 {:.1} us) | ratio {:.2} best, {:.2} median (goal <= 1.3)",
            exchange.as_secs_f64() * 1e6,
            floor.as_secs_f64() * 1e6,
            rsa_floor.as_secs_f64() * 1e6,
            hashes.as_secs_f64() * 1e6,
            exchange.as_secs_f64() / floor.as_secs_f64(),
            ratios[ratios.len() / 2],
        );
        println!(
            "             {:.0} exchanges/s on one core; `openssl speed rsa{bits}` (CPU time): {}",
            1.0 / exchange.as_secs_f64(),
            speed.map_or("n/a".to_string(), |s| format!("{:.1} us", s.as_secs_f64() * 1e6)),
        );
    }
}
