//! What every benchmark does to a fresh license server before driving it: activate it and install a key pack,
//! through its admin API, with a clearinghouse made for the run.

use anyhow::Context as _;
use rdlic_api::client::AdminClient;

/// Activates the server behind `admin` with `ch` and installs a pack of `count` 2022 CALs of `cal_type` issued to it.
pub(crate) async fn activate_with_pack(
    admin: &AdminClient,
    ch: &rdlic_core::Clearinghouse,
    cal_type: rdlic_core::CalType,
    count: u32,
) -> anyhow::Result<()> {
    let request = admin.get("/api/v1/admin/activation-request").await.context("activation request")?;
    let pem = request.get("public_key_pem").and_then(|p| p.as_str()).unwrap_or_default();
    let key = openssl::pkey::PKey::public_key_from_pem(pem.as_bytes()).context("server public key")?;
    let spki = key.public_key_to_der()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(0))
        .unwrap_or(0);
    let cert = ch.activate(&spki, now).context("activation")?;
    admin
        .post("/api/v1/admin/activate", &serde_json::json!({ "certificate": cert.to_text() }))
        .await
        .context("activating the server")?;
    let mut id = [0u8; 16];
    openssl::rand::rand_bytes(&mut id)?;
    let pack = ch
        .issue_key_pack(rdlic_core::KeyPack {
            id: rdlic_core::KeyPackId(id),
            cal_type,
            version: rdlic_core::CalVersion(2022),
            program: rdlic_core::LicenseProgram::VOLUME,
            count,
            issued_at: now,
            expires_at: None,
            issued_to: rdlic_core::ServerId::from_public_key_der(&spki),
        })
        .context("key pack")?;
    admin
        .post("/api/v1/admin/keypacks", &serde_json::json!({ "pack": pack.to_text() }))
        .await
        .context("installing the key pack")?;
    Ok(())
}
