//! The key pack and activation file parsers take files from administrators: any input gives a value or a typed
//! error, never a panic; a valid pack survives a round trip.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use rdlic_core::{
    ActivationCertificate, CalType, CalVersion, KeyPack, KeyPackId, LicenseProgram, ServerId, SignedKeyPack,
};

proptest! {
    #[test]
    fn key_pack_parser_never_panics(s in "\\PC*") {
        let _ = SignedKeyPack::from_text(&s);
        let _ = ActivationCertificate::from_text(&s);
    }

    #[test]
    fn armored_garbage_never_panics(lines in proptest::collection::vec("[a-z-]{1,12}: [ -~]{0,40}", 0..14)) {
        let text = format!("-----BEGIN RDLIC KEY PACK-----\n{}\n-----END RDLIC KEY PACK-----\n", lines.join("\n"));
        let _ = SignedKeyPack::from_text(&text);
        let text = format!("-----BEGIN RDLIC ACTIVATION-----\n{}\n-----END RDLIC ACTIVATION-----\n", lines.join("\n"));
        let _ = ActivationCertificate::from_text(&text);
    }

    #[test]
    fn key_pack_text_round_trips(
        id in any::<[u8; 16]>(), per_user in any::<bool>(), version in any::<u16>(), program in any::<u8>(),
        count in any::<u32>(), issued_at in any::<i64>(), expires_at in any::<Option<i64>>(),
        to in any::<[u8; 16]>(), signer in any::<[u8; 16]>(), signature in proptest::collection::vec(any::<u8>(), 0..80),
    ) {
        let signed = SignedKeyPack {
            pack: KeyPack {
                id: KeyPackId(id),
                cal_type: if per_user { CalType::PerUser } else { CalType::PerDevice },
                version: CalVersion(version),
                program: LicenseProgram(program),
                count,
                issued_at,
                expires_at,
                issued_to: ServerId(to),
            },
            signer,
            signature,
        };
        prop_assert_eq!(SignedKeyPack::from_text(&signed.to_text()).unwrap(), signed);
    }
}
