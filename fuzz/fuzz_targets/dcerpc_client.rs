#![no_main]
use dcerpc::client::{frag_length, Client, ClientConfig, Step};
use dcerpc::epm::{EptMapRequest, EptMapResponse, EPT_MAP_OPNUM};
use dcerpc::SyntaxId;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // The server's byte stream, framed as the I/O layer frames it, fed to an ept_map client.
    let query = EptMapRequest::ncacn_ip_tcp(SyntaxId::TS_LICENSING_V1).encode().expect("query encodes");
    let mut client = Client::new(ClientConfig { interface: SyntaxId::EPM_V3, call: Some((EPT_MAP_OPNUM, query)) });
    client.start().expect("starts");
    let mut rest = data;
    while rest.len() >= 16 {
        let Ok(len) = frag_length(rest) else { return };
        let Some(pdu) = rest.get(..len) else { return };
        rest = &rest[len..];
        match client.handle(pdu) {
            Ok(Step::Send(_) | Step::Read) => {}
            Ok(Step::Done(outcome)) => {
                if let dcerpc::client::Outcome::Response { stub, little_endian, .. } = outcome {
                    let _ = EptMapResponse::decode(&stub, little_endian);
                }
                return;
            }
            Err(_) => return,
        }
    }
});
