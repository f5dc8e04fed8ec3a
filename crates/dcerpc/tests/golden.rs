//! Golden bytes: the bind and the `ept_map` query rdlic sends for the Terminal Server Licensing interface, written
//! by hand from C706 (one comment per field), and endpoint-mapper traffic captured from peers rdlic did not write
//! (`data/samba-4.17-epm.pcapng`: impacket 0.13.1's `epm.hept_map` asking Samba 4.17's `samba-dcerpcd` on
//! 127.0.0.2:135, once for the licensing interface, once for lsarpc; the `.bin` files are TCP payloads cut from it
//! with `tshark -T fields -e tcp.payload`).

#![allow(clippy::unwrap_used)]

use std::net::Ipv4Addr;

use dcerpc::client::{bind_pdu, Client, ClientConfig, Outcome, Step};
use dcerpc::epm::{EptMapRequest, EptMapResponse, EptStatus, ProtocolId, Tower, EPT_MAP_OPNUM};
use dcerpc::pdu::{Body, ContextResult, PacketType, Pdu, PfcFlags, ProviderReason};
use dcerpc::{SyntaxId, Uuid};

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// [C706 12.6.4.3] bind for 3d267954-eeb7-11d1-b94e-00c04fa3080d v1.0 with NDR v2.0, call id 1.
const LICENSING_BIND: &str = concat!(
    "05",       // rpc_vers 5
    "00",       // rpc_vers_minor 0
    "0b",       // PTYPE bind (11)
    "03",       // pfc_flags PFC_FIRST_FRAG | PFC_LAST_FRAG
    "10000000", // packed_drep: little-endian integers, ASCII, IEEE floats
    "4800",     // frag_length 72
    "0000",     // auth_length 0
    "01000000", // call_id 1
    "b810",     // max_xmit_frag 4280
    "b810",     // max_recv_frag 4280
    "00000000", // assoc_group_id 0 (new group)
    "01",       // n_context_elem 1
    "00",       // reserved
    "0000",     // reserved2
    "0000",     // p_cont_id 0
    "01",       // n_transfer_syn 1
    "00",       // reserved
    "5479263d", // abstract_syntax if_uuid time_low 0x3d267954 (little-endian)
    "b7ee",     //   time_mid 0xeeb7
    "d111",     //   time_hi_and_version 0x11d1
    "b94e",     //   clock_seq b9 4e (bytes as written)
    "00c04fa3080d", // node 00 c0 4f a3 08 0d
    "0100",     //   if_version major 1
    "0000",     //   if_version minor 0
    "045d888a", // transfer_syntaxes[0] NDR: time_low 0x8a885d04
    "eb1c",     //   time_mid 0x1ceb
    "c911",     //   time_hi_and_version 0x11c9
    "9fe8",     //   clock_seq
    "08002b104860", // node
    "0200",     //   major 2
    "0000",     //   minor 0
);

/// [C706 Appendix L] The query tower for the licensing interface over ncacn_ip_tcp (port 0, 0.0.0.0).
const LICENSING_TOWER: &str = concat!(
    "0500",     // floor_count 5
    // floor 1: the interface
    "1300",     // lhs_length 19
    "0d",       // protocol id: UUID
    "5479263db7eed111b94e00c04fa3080d", // 3d267954-eeb7-11d1-b94e-00c04fa3080d, little-endian fields
    "0100",     // major version 1
    "0200",     // rhs_length 2
    "0000",     // minor version 0
    // floor 2: the transfer syntax
    "1300",     // lhs_length 19
    "0d",       // UUID
    "045d888aeb1cc9119fe808002b104860", // NDR 8a885d04-1ceb-11c9-9fe8-08002b104860
    "0200",     // major 2
    "0200",     // rhs_length 2
    "0000",     // minor 0
    // floor 3: RPC protocol
    "0100",     // lhs_length 1
    "0b",       // connection-oriented RPC (ncacn)
    "0200",     // rhs_length 2
    "0000",     // minor version 0
    // floor 4: transport
    "0100",     // lhs_length 1
    "07",       // TCP
    "0200",     // rhs_length 2
    "0000",     // port 0 (big-endian): any
    // floor 5: network address
    "0100",     // lhs_length 1
    "09",       // IP
    "0400",     // rhs_length 4
    "00000000", // 0.0.0.0
);

#[test]
fn bind_for_the_licensing_interface() {
    let expected = hex::decode(LICENSING_BIND).unwrap();
    assert_eq!(bind_pdu(SyntaxId::TS_LICENSING_V1, 1).encode().unwrap(), expected);
    let mut client = Client::new(ClientConfig { interface: SyntaxId::TS_LICENSING_V1, call: None });
    assert_eq!(client.start().unwrap(), expected);
    let (pdu, len) = Pdu::decode(&expected).unwrap();
    assert_eq!(len, 72);
    assert_eq!(pdu.header.frag_length, 72);
    assert_eq!(pdu.body, bind_pdu(SyntaxId::TS_LICENSING_V1, 1).body);
}

#[test]
fn ept_map_query_for_the_licensing_interface() {
    let tower = hex::decode(LICENSING_TOWER).unwrap();
    assert_eq!(tower.len(), 75);
    let ours = Tower::ncacn_ip_tcp(SyntaxId::TS_LICENSING_V1, 0, Ipv4Addr::UNSPECIFIED);
    assert_eq!(ours.encode().unwrap(), tower);

    // [C706 Appendix O] ept_map [in] parameters, NDR little-endian.
    let mut stub = hex::decode(concat!(
        "01000000",                         // object: referent id 1
        "00000000000000000000000000000000", //   nil UUID
        "02000000",                         // map_tower: referent id 2
        "4b000000",                         //   twr_t conformance (max count) 75
        "4b000000",                         //   tower_length 75
    ))
    .unwrap();
    stub.extend_from_slice(&tower);
    stub.extend_from_slice(
        &hex::decode(concat!(
            "00",                                       // padding to 4
            "0000000000000000000000000000000000000000", // entry_handle: attributes 0, nil UUID
            "04000000",                                 // max_towers 4
        ))
        .unwrap(),
    );
    let request = EptMapRequest::ncacn_ip_tcp(SyntaxId::TS_LICENSING_V1);
    assert_eq!(request.encode().unwrap(), stub);

    // impacket's hept_map sends the same stub (its padding byte is 0xab, ours 0).
    let captured = data("impacket-ept_map-request-ts-licensing.bin");
    let (pdu, _) = Pdu::decode(&captured).unwrap();
    let Body::Request(theirs) = pdu.body else { panic!("{pdu:?}") };
    assert_eq!(theirs.opnum, EPT_MAP_OPNUM);
    assert_eq!(theirs.stub.len(), stub.len());
    let mut their_stub = theirs.stub.clone();
    assert_eq!(their_stub[32 + 75], 0xab);
    their_stub[32 + 75] = 0;
    assert_eq!(their_stub, stub);
    assert_eq!(EptMapRequest::decode(&theirs.stub, true).unwrap(), request);
}

#[test]
fn samba_bind_ack_decoded() {
    let (pdu, len) = Pdu::decode(&data("samba-4.17-bind_ack-epm.bin")).unwrap();
    assert_eq!(len, 60);
    assert_eq!(pdu.header.packet_type, PacketType::BIND_ACK);
    assert_eq!(pdu.header.flags, PfcFlags::FIRST_AND_LAST);
    assert_eq!(pdu.header.call_id, 1);
    let Body::BindAck(ack) = &pdu.body else { panic!("{pdu:?}") };
    assert_eq!((ack.max_xmit_frag, ack.max_recv_frag), (4280, 4280));
    assert_ne!(ack.assoc_group_id, 0);
    assert_eq!(ack.secondary_address, b"135");
    assert_eq!(ack.results.len(), 1);
    assert_eq!(ack.results[0].result, ContextResult::ACCEPTANCE);
    assert_eq!(ack.results[0].reason, ProviderReason::REASON_NOT_SPECIFIED);
    assert_eq!(ack.results[0].transfer_syntax, SyntaxId::NDR_V2);
    // Re-encoded byte for byte (Samba pads the result list with zeros, as rdlic does).
    assert_eq!(pdu.encode().unwrap(), data("samba-4.17-bind_ack-epm.bin"));
}

#[test]
fn samba_ept_map_reply_with_a_tower_decoded_field_by_field() {
    let bytes = data("samba-4.17-ept_map-response-lsarpc.bin");
    let (pdu, len) = Pdu::decode(&bytes).unwrap();
    assert_eq!(len, 152);
    assert_eq!(pdu.header.packet_type, PacketType::RESPONSE);
    assert_eq!(pdu.header.call_id, 1);
    let Body::Response(response) = &pdu.body else { panic!("{pdu:?}") };
    assert_eq!(response.alloc_hint, 128);
    assert_eq!(response.context_id, 0);
    assert_eq!(response.stub.len(), 128);

    let reply = EptMapResponse::decode(&response.stub, true).unwrap();
    assert_eq!(reply.entry_handle.0, [0; 20]); // lookup over
    assert_eq!(reply.max_towers, 4); // the query's max_towers, echoed as the array's maximum count
    assert_eq!(reply.status, EptStatus::OK);
    assert_eq!(reply.towers.len(), 1);
    let tower = &reply.towers[0];
    assert_eq!(tower.floors.len(), 5);
    let lsarpc = SyntaxId { uuid: Uuid::parse("12345778-1234-abcd-ef00-0123456789ab").unwrap(), major: 0, minor: 0 };
    let summary = tower.summary();
    assert_eq!(summary.interface, Some(lsarpc));
    assert_eq!(summary.transfer_syntax, Some(SyntaxId::NDR_V2));
    assert_eq!(summary.rpc_protocol, Some(ProtocolId::NCACN));
    assert_eq!(summary.transport, Some(ProtocolId::TCP));
    assert_eq!(summary.port, Some(49153)); // 0xc001, big-endian on the wire
    assert_eq!(summary.ip, Some(Ipv4Addr::new(127, 0, 0, 2)));
    assert_eq!(tower.floors[3].rhs, [0xc0, 0x01]);
    assert_eq!(tower.floors[4].rhs, [127, 0, 0, 2]);

    // Our encoder gives Samba's bytes back (referent id 3, zero padding).
    assert_eq!(reply.encode().unwrap(), response.stub);
}

#[test]
fn samba_ept_map_reply_not_registered() {
    let bytes = data("samba-4.17-ept_map-response-not-registered.bin");
    let (pdu, _) = Pdu::decode(&bytes).unwrap();
    let Body::Response(response) = &pdu.body else { panic!("{pdu:?}") };
    let reply = EptMapResponse::decode(&response.stub, true).unwrap();
    assert!(reply.towers.is_empty());
    assert_eq!(reply.status, EptStatus::EPT_S_NOT_REGISTERED);
    assert_eq!(reply.status.0, 0x16c9_a0d6);
    assert_eq!(reply.encode().unwrap(), response.stub);
}

#[test]
fn client_runs_the_captured_exchange() {
    let query = EptMapRequest::ncacn_ip_tcp(SyntaxId::TS_LICENSING_V1).encode().unwrap();
    let mut client = Client::new(ClientConfig { interface: SyntaxId::EPM_V3, call: Some((EPT_MAP_OPNUM, query)) });
    client.start().unwrap();
    let Step::Send(request) = client.handle(&data("samba-4.17-bind_ack-epm.bin")).unwrap() else { panic!() };
    let (request, _) = Pdu::decode(&request).unwrap();
    assert_eq!(request.header.call_id, 2);
    // Samba answered call id 1 (impacket numbers its request 1): the client wants its own call id.
    let answer = data("samba-4.17-ept_map-response-not-registered.bin");
    assert!(client.handle(&answer).is_err());

    let mut answer = answer;
    answer[12..16].copy_from_slice(&2u32.to_le_bytes());
    let mut client = Client::new(ClientConfig {
        interface: SyntaxId::EPM_V3,
        call: Some((EPT_MAP_OPNUM, EptMapRequest::ncacn_ip_tcp(SyntaxId::TS_LICENSING_V1).encode().unwrap())),
    });
    client.start().unwrap();
    client.handle(&data("samba-4.17-bind_ack-epm.bin")).unwrap();
    let Step::Done(Outcome::Response { stub, little_endian, .. }) = client.handle(&answer).unwrap() else { panic!() };
    assert_eq!(EptMapResponse::decode(&stub, little_endian).unwrap().status, EptStatus::EPT_S_NOT_REGISTERED);
}
