//! A small DER (ITU-T X.690) reader and writer, just enough for X.509 certificates and the PKCS#7 bag that
//! carries a client access licence (MS-RDPELE 2.2.2.9).
//!
//! The reader is strict where DER is (definite, minimal lengths; low tag numbers only) and safe everywhere: every
//! length is checked against the input, nesting is bounded by [`MAX_DEPTH`], and no input makes it panic. It never
//! copies: values borrow from the input.
//!
//! The writer builds encodings bottom-up. Errors (a string that a type cannot hold, a time out of range, an invalid
//! OID) are sticky: the first one is returned by [`Writer::finish`], so building code stays free of `?` noise.

use std::fmt;

/// Deepest nesting of constructed values the reader accepts (X.509 needs about 8).
pub const MAX_DEPTH: usize = 32;

/// Errors of the DER layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DerError {
    /// The input ends before the value it announces.
    #[error("der input is truncated")]
    Truncated,
    /// BER indefinite length (0x80), which DER forbids.
    #[error("indefinite length is not allowed in der")]
    IndefiniteLength,
    /// A length in long form that fits a shorter form.
    #[error("length is not minimally encoded")]
    NonMinimalLength,
    /// A length of more than four octets.
    #[error("length is too large")]
    LengthTooLarge,
    /// Tags of number 31 and above (multi-octet tags) are not used by anything we read.
    #[error("multi-octet tags are not supported")]
    HighTagNumber,
    /// A value with a different tag than the structure requires.
    #[error("expected tag {expected:#04x}, found {found:#04x}")]
    UnexpectedTag {
        /// The tag the structure requires.
        expected: u8,
        /// The tag in the input.
        found: u8,
    },
    /// A value expected but the enclosing structure is exhausted.
    #[error("expected tag {expected:#04x}, found the end of the structure")]
    MissingValue {
        /// The tag the structure requires.
        expected: u8,
    },
    /// Bytes left after the last value of a structure.
    #[error("trailing data after der value")]
    TrailingData,
    /// A primitive value whose content does not follow its type's rules.
    #[error("invalid {0} encoding")]
    Invalid(&'static str),
    /// An integer that does not fit the requested Rust type (or is negative where it must not be).
    #[error("integer out of range")]
    IntegerOutOfRange,
    /// Nesting deeper than [`MAX_DEPTH`].
    #[error("der nesting is deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// The writer was asked for something DER cannot express.
    #[error("cannot encode {0}")]
    Unencodable(&'static str),
}

/// An identifier octet (class, constructed bit and a tag number below 31).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(pub u8);

impl Tag {
    /// BOOLEAN.
    pub const BOOLEAN: Tag = Tag(0x01);
    /// INTEGER.
    pub const INTEGER: Tag = Tag(0x02);
    /// BIT STRING.
    pub const BIT_STRING: Tag = Tag(0x03);
    /// OCTET STRING.
    pub const OCTET_STRING: Tag = Tag(0x04);
    /// NULL.
    pub const NULL: Tag = Tag(0x05);
    /// OBJECT IDENTIFIER.
    pub const OID: Tag = Tag(0x06);
    /// UTF8String.
    pub const UTF8_STRING: Tag = Tag(0x0C);
    /// PrintableString.
    pub const PRINTABLE_STRING: Tag = Tag(0x13);
    /// IA5String.
    pub const IA5_STRING: Tag = Tag(0x16);
    /// UTCTime.
    pub const UTC_TIME: Tag = Tag(0x17);
    /// GeneralizedTime.
    pub const GENERALIZED_TIME: Tag = Tag(0x18);
    /// BMPString (UCS-2 big-endian; Microsoft certificates use it for every name).
    pub const BMP_STRING: Tag = Tag(0x1E);
    /// SEQUENCE / SEQUENCE OF (constructed).
    pub const SEQUENCE: Tag = Tag(0x30);
    /// SET / SET OF (constructed).
    pub const SET: Tag = Tag(0x31);

    /// Context-specific tag `[number]`, constructed (explicit tagging or an implicit constructed type) or primitive.
    pub const fn context(number: u8, constructed: bool) -> Tag {
        Tag(0x80 | if constructed { 0x20 } else { 0 } | (number & 0x1F))
    }

    /// Whether the constructed bit is set.
    pub const fn is_constructed(self) -> bool {
        self.0 & 0x20 != 0
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tag({:#04x})", self.0)
    }
}

/// An OBJECT IDENTIFIER as its arcs (`1.3.6.1.4.1.311.18.5` → `[1, 3, 6, 1, 4, 1, 311, 18, 5]`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Oid(pub Vec<u64>);

impl Oid {
    /// An OID from its arcs.
    pub fn new(arcs: &[u64]) -> Oid {
        Oid(arcs.to_vec())
    }

    /// Whether this OID has exactly these arcs.
    pub fn is(&self, arcs: &[u64]) -> bool {
        self.0 == arcs
    }

    /// Decodes the content octets of an OBJECT IDENTIFIER.
    pub fn from_content(content: &[u8]) -> Result<Oid, DerError> {
        const BAD: DerError = DerError::Invalid("object identifier");
        if content.is_empty() || content.last().is_some_and(|b| b & 0x80 != 0) {
            return Err(BAD);
        }
        let mut arcs = Vec::new();
        let mut value: u64 = 0;
        let mut first_octet = true;
        for &b in content {
            if first_octet && b == 0x80 {
                return Err(BAD); // leading 0x80: not minimal
            }
            first_octet = false;
            if value > (u64::MAX >> 7) {
                return Err(BAD);
            }
            value = (value << 7) | u64::from(b & 0x7F);
            if b & 0x80 == 0 {
                if arcs.is_empty() {
                    let (a0, a1) = match value {
                        0..=39 => (0, value),
                        40..=79 => (1, value - 40),
                        _ => (2, value - 80),
                    };
                    arcs.push(a0);
                    arcs.push(a1);
                } else {
                    arcs.push(value);
                }
                value = 0;
                first_octet = true;
            }
        }
        Ok(Oid(arcs))
    }

    /// Encodes the content octets.
    pub fn to_content(&self) -> Result<Vec<u8>, DerError> {
        encode_oid_content(&self.0)
    }
}

fn encode_oid_content(arcs: &[u64]) -> Result<Vec<u8>, DerError> {
    const BAD: DerError = DerError::Unencodable("object identifier");
    let (a0, a1, rest) = match arcs {
        [a0, a1, rest @ ..] => (*a0, *a1, rest),
        _ => return Err(BAD),
    };
    if a0 > 2 || (a0 < 2 && a1 >= 40) {
        return Err(BAD);
    }
    let first = a0.checked_mul(40).and_then(|v| v.checked_add(a1)).ok_or(BAD)?;
    let mut out = Vec::with_capacity(arcs.len() + 4);
    for arc in std::iter::once(first).chain(rest.iter().copied()) {
        let mut groups = [0u8; 10];
        let mut n = 0;
        let mut v = arc;
        loop {
            groups[n] = low_u8(v & 0x7F);
            n += 1;
            v >>= 7;
            if v == 0 {
                break;
            }
        }
        for i in (0..n).rev() {
            out.push(if i == 0 { groups[i] } else { groups[i] | 0x80 });
        }
    }
    Ok(out)
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, arc) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{arc}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Oid({self})")
    }
}

impl std::str::FromStr for Oid {
    type Err = DerError;

    fn from_str(s: &str) -> Result<Oid, DerError> {
        let arcs = s
            .split('.')
            .map(|a| {
                a.parse::<u64>()
                    .map_err(|_| DerError::Invalid("object identifier"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        encode_oid_content(&arcs).map_err(|_| DerError::Invalid("object identifier"))?;
        Ok(Oid(arcs))
    }
}

/// The string types of X.520 names that we read and write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StringKind {
    /// UTF8String.
    Utf8,
    /// PrintableString (a subset of ASCII).
    Printable,
    /// IA5String (ASCII).
    Ia5,
    /// BMPString (UTF-16BE without surrogates in theory; we accept and write surrogate pairs).
    Bmp,
}

impl StringKind {
    /// The universal tag of this string type.
    pub const fn tag(self) -> Tag {
        match self {
            StringKind::Utf8 => Tag::UTF8_STRING,
            StringKind::Printable => Tag::PRINTABLE_STRING,
            StringKind::Ia5 => Tag::IA5_STRING,
            StringKind::Bmp => Tag::BMP_STRING,
        }
    }

    /// The string type of a universal tag, if it is one we handle.
    pub const fn from_tag(tag: Tag) -> Option<StringKind> {
        match tag {
            Tag::UTF8_STRING => Some(StringKind::Utf8),
            Tag::PRINTABLE_STRING => Some(StringKind::Printable),
            Tag::IA5_STRING => Some(StringKind::Ia5),
            Tag::BMP_STRING => Some(StringKind::Bmp),
            _ => None,
        }
    }
}

/// One decoded TLV: its tag, its content octets and its whole encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The identifier octet.
    pub tag: Tag,
    /// The content octets.
    pub value: &'a [u8],
    /// The whole encoding (identifier, length and content).
    pub raw: &'a [u8],
}

/// A cursor over a sequence of DER values (the content of a SEQUENCE, SET or explicit tag, or a whole input).
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    depth: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `data` at nesting depth 0.
    pub fn new(data: &'a [u8]) -> Reader<'a> {
        Reader {
            data,
            pos: 0,
            depth: 0,
        }
    }

    /// Whether every value has been read.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    /// The bytes not read yet.
    pub fn remaining(&self) -> &'a [u8] {
        self.data.get(self.pos..).unwrap_or_default()
    }

    /// The tag of the next value, without consuming it.
    pub fn peek_tag(&self) -> Option<Tag> {
        self.data.get(self.pos).copied().map(Tag)
    }

    /// Fails with [`DerError::TrailingData`] unless everything has been read.
    pub fn finish(&self) -> Result<(), DerError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(DerError::TrailingData)
        }
    }

    /// Reads the next TLV, whatever its tag.
    pub fn read_tlv(&mut self) -> Result<Tlv<'a>, DerError> {
        let (tlv, len) = parse_tlv(self.remaining())?;
        self.pos += len;
        Ok(tlv)
    }

    /// Reads the next value, which must carry `tag`, and returns its content octets.
    pub fn read_expected(&mut self, tag: Tag) -> Result<&'a [u8], DerError> {
        match self.peek_tag() {
            None => Err(DerError::MissingValue { expected: tag.0 }),
            Some(found) if found != tag => Err(DerError::UnexpectedTag {
                expected: tag.0,
                found: found.0,
            }),
            Some(_) => Ok(self.read_tlv()?.value),
        }
    }

    /// Reads the next value if it carries `tag`.
    pub fn read_optional(&mut self, tag: Tag) -> Result<Option<&'a [u8]>, DerError> {
        if self.peek_tag() == Some(tag) {
            Ok(Some(self.read_tlv()?.value))
        } else {
            Ok(None)
        }
    }

    /// Reads a constructed value carrying `tag` and returns a reader over its content.
    pub fn read_constructed(&mut self, tag: Tag) -> Result<Reader<'a>, DerError> {
        let depth = self.depth + 1;
        if depth > MAX_DEPTH {
            return Err(DerError::TooDeep);
        }
        let content = self.read_expected(tag)?;
        Ok(Reader {
            data: content,
            pos: 0,
            depth,
        })
    }

    /// Reads a constructed value carrying `tag` if it is next.
    pub fn read_optional_constructed(&mut self, tag: Tag) -> Result<Option<Reader<'a>>, DerError> {
        if self.peek_tag() == Some(tag) {
            self.read_constructed(tag).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Reads a SEQUENCE and returns a reader over its elements.
    pub fn read_sequence(&mut self) -> Result<Reader<'a>, DerError> {
        self.read_constructed(Tag::SEQUENCE)
    }

    /// Reads a SET and returns a reader over its elements.
    pub fn read_set(&mut self) -> Result<Reader<'a>, DerError> {
        self.read_constructed(Tag::SET)
    }

    /// Reads an explicitly tagged `[number]` value and returns a reader over what it wraps.
    pub fn read_explicit(&mut self, number: u8) -> Result<Reader<'a>, DerError> {
        self.read_constructed(Tag::context(number, true))
    }

    /// Reads an explicitly tagged `[number]` value if it is next.
    pub fn read_optional_explicit(&mut self, number: u8) -> Result<Option<Reader<'a>>, DerError> {
        if self.peek_tag() == Some(Tag::context(number, true)) {
            self.read_explicit(number).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Reads the SEQUENCE that comes next and returns its whole encoding (e.g. a TBSCertificate to be verified).
    pub fn read_raw(&mut self, tag: Tag) -> Result<&'a [u8], DerError> {
        match self.peek_tag() {
            None => Err(DerError::MissingValue { expected: tag.0 }),
            Some(found) if found != tag => Err(DerError::UnexpectedTag {
                expected: tag.0,
                found: found.0,
            }),
            Some(_) => Ok(self.read_tlv()?.raw),
        }
    }

    /// Reads a BOOLEAN (DER: 0x00 or 0xFF).
    pub fn read_bool(&mut self) -> Result<bool, DerError> {
        decode_bool(self.read_expected(Tag::BOOLEAN)?)
    }

    /// Reads a NULL.
    pub fn read_null(&mut self) -> Result<(), DerError> {
        if self.read_expected(Tag::NULL)?.is_empty() {
            Ok(())
        } else {
            Err(DerError::Invalid("null"))
        }
    }

    /// Reads an INTEGER and returns its content: big-endian two's complement, checked to be minimal.
    pub fn read_integer_bytes(&mut self) -> Result<&'a [u8], DerError> {
        let content = self.read_expected(Tag::INTEGER)?;
        check_integer(content)?;
        Ok(content)
    }

    /// Reads a non-negative INTEGER and returns its magnitude, big-endian, without leading zero octets
    /// (an empty slice for zero).
    pub fn read_unsigned_bytes(&mut self) -> Result<&'a [u8], DerError> {
        let content = self.read_integer_bytes()?;
        unsigned_magnitude(content)
    }

    /// Reads an INTEGER into a `u64`.
    pub fn read_u64(&mut self) -> Result<u64, DerError> {
        let magnitude = self.read_unsigned_bytes()?;
        if magnitude.len() > 8 {
            return Err(DerError::IntegerOutOfRange);
        }
        Ok(magnitude.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    /// Reads an INTEGER into an `i64`.
    pub fn read_i64(&mut self) -> Result<i64, DerError> {
        let content = self.read_integer_bytes()?;
        if content.len() > 8 {
            return Err(DerError::IntegerOutOfRange);
        }
        let negative = content.first().is_some_and(|b| b & 0x80 != 0);
        let mut bytes = if negative { [0xFFu8; 8] } else { [0u8; 8] };
        bytes[8 - content.len()..].copy_from_slice(content);
        Ok(i64::from_be_bytes(bytes))
    }

    /// Reads an OBJECT IDENTIFIER.
    pub fn read_oid(&mut self) -> Result<Oid, DerError> {
        Oid::from_content(self.read_expected(Tag::OID)?)
    }

    /// Reads a BIT STRING and returns (number of unused bits, octets).
    pub fn read_bit_string(&mut self) -> Result<(u8, &'a [u8]), DerError> {
        let content = self.read_expected(Tag::BIT_STRING)?;
        decode_bit_string(content)
    }

    /// Reads a BIT STRING that must hold whole octets (signatures, public keys).
    pub fn read_bit_string_octets(&mut self) -> Result<&'a [u8], DerError> {
        match self.read_bit_string()? {
            (0, octets) => Ok(octets),
            _ => Err(DerError::Invalid("bit string")),
        }
    }

    /// Reads an OCTET STRING.
    pub fn read_octet_string(&mut self) -> Result<&'a [u8], DerError> {
        self.read_expected(Tag::OCTET_STRING)
    }

    /// Reads any of the string types of [`StringKind`].
    pub fn read_string(&mut self) -> Result<(StringKind, String), DerError> {
        let tlv = self.read_tlv()?;
        let kind = StringKind::from_tag(tlv.tag).ok_or(DerError::UnexpectedTag {
            expected: Tag::UTF8_STRING.0,
            found: tlv.tag.0,
        })?;
        Ok((kind, decode_string(kind, tlv.value)?))
    }

    /// Reads a UTCTime or GeneralizedTime as Unix seconds.
    pub fn read_time(&mut self) -> Result<i64, DerError> {
        let tlv = self.read_tlv()?;
        match tlv.tag {
            Tag::UTC_TIME => decode_utc_time(tlv.value),
            Tag::GENERALIZED_TIME => decode_generalized_time(tlv.value),
            found => Err(DerError::UnexpectedTag {
                expected: Tag::UTC_TIME.0,
                found: found.0,
            }),
        }
    }
}

/// Parses one TLV at the start of `input`; returns it and its encoded length.
fn parse_tlv(input: &[u8]) -> Result<(Tlv<'_>, usize), DerError> {
    let (&tag, rest) = input.split_first().ok_or(DerError::Truncated)?;
    if tag & 0x1F == 0x1F {
        return Err(DerError::HighTagNumber);
    }
    let (&first, rest) = rest.split_first().ok_or(DerError::Truncated)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else if first == 0x80 {
        return Err(DerError::IndefiniteLength);
    } else {
        let n = usize::from(first & 0x7F);
        if n > 4 {
            return Err(DerError::LengthTooLarge);
        }
        let octets = rest.get(..n).ok_or(DerError::Truncated)?;
        if octets.first() == Some(&0) {
            return Err(DerError::NonMinimalLength);
        }
        let len = octets.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        if len < 0x80 {
            return Err(DerError::NonMinimalLength);
        }
        (len, 2 + n)
    };
    let total = header.checked_add(len).ok_or(DerError::LengthTooLarge)?;
    let raw = input.get(..total).ok_or(DerError::Truncated)?;
    let value = raw.get(header..).ok_or(DerError::Truncated)?;
    Ok((
        Tlv {
            tag: Tag(tag),
            value,
            raw,
        },
        total,
    ))
}

/// Checks that `data` is exactly one well-formed DER value, descending into every constructed value (and into
/// nothing else) with nesting bounded by [`MAX_DEPTH`]. Primitive contents are checked for the universal types
/// whose rules we know (BOOLEAN, INTEGER, NULL, OID, BIT STRING, strings, times).
pub fn validate(data: &[u8]) -> Result<(), DerError> {
    let mut reader = Reader::new(data);
    validate_one(&mut reader, 0)?;
    reader.finish()
}

fn validate_one(reader: &mut Reader<'_>, depth: usize) -> Result<(), DerError> {
    if depth > MAX_DEPTH {
        return Err(DerError::TooDeep);
    }
    let tlv = reader.read_tlv()?;
    if tlv.tag.is_constructed() {
        let mut inner = Reader {
            data: tlv.value,
            pos: 0,
            depth: depth + 1,
        };
        while !inner.is_empty() {
            validate_one(&mut inner, depth + 1)?;
        }
        return Ok(());
    }
    match tlv.tag {
        Tag::BOOLEAN => decode_bool(tlv.value).map(drop),
        Tag::INTEGER => check_integer(tlv.value),
        Tag::NULL if tlv.value.is_empty() => Ok(()),
        Tag::NULL => Err(DerError::Invalid("null")),
        Tag::OID => Oid::from_content(tlv.value).map(drop),
        Tag::BIT_STRING => decode_bit_string(tlv.value).map(drop),
        Tag::UTC_TIME => decode_utc_time(tlv.value).map(drop),
        Tag::GENERALIZED_TIME => decode_generalized_time(tlv.value).map(drop),
        tag => match StringKind::from_tag(tag) {
            Some(kind) => decode_string(kind, tlv.value).map(drop),
            None => Ok(()),
        },
    }
}

fn decode_bool(content: &[u8]) -> Result<bool, DerError> {
    match content {
        [0x00] => Ok(false),
        [0xFF] => Ok(true),
        _ => Err(DerError::Invalid("boolean")),
    }
}

fn check_integer(content: &[u8]) -> Result<(), DerError> {
    match content {
        [] => Err(DerError::Invalid("integer")),
        [0x00, next, ..] if next & 0x80 == 0 => Err(DerError::Invalid("integer")),
        [0xFF, next, ..] if next & 0x80 != 0 => Err(DerError::Invalid("integer")),
        _ => Ok(()),
    }
}

fn unsigned_magnitude(content: &[u8]) -> Result<&[u8], DerError> {
    if content.first().is_some_and(|b| b & 0x80 != 0) {
        return Err(DerError::IntegerOutOfRange);
    }
    let start = content.iter().position(|b| *b != 0).unwrap_or(content.len());
    Ok(&content[start..])
}

fn decode_bit_string(content: &[u8]) -> Result<(u8, &[u8]), DerError> {
    const BAD: DerError = DerError::Invalid("bit string");
    let (&unused, octets) = content.split_first().ok_or(BAD)?;
    if unused > 7 || (octets.is_empty() && unused != 0) {
        return Err(BAD);
    }
    // DER: the unused bits are zero.
    if let Some(last) = octets.last() {
        let mask = (1u16 << unused) - 1;
        if u16::from(*last) & mask != 0 {
            return Err(BAD);
        }
    }
    Ok((unused, octets))
}

fn decode_string(kind: StringKind, content: &[u8]) -> Result<String, DerError> {
    const BAD: DerError = DerError::Invalid("string");
    match kind {
        StringKind::Utf8 => std::str::from_utf8(content).map(str::to_owned).map_err(|_| BAD),
        StringKind::Printable => {
            if content.iter().all(|b| is_printable(*b)) {
                Ok(content.iter().copied().map(char::from).collect())
            } else {
                Err(BAD)
            }
        }
        StringKind::Ia5 => {
            if content.is_ascii() {
                Ok(content.iter().copied().map(char::from).collect())
            } else {
                Err(BAD)
            }
        }
        StringKind::Bmp => {
            if content.len() & 1 != 0 {
                return Err(BAD);
            }
            let units = content.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]]));
            char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .map_err(|_| BAD)
        }
    }
}

fn is_printable(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b" '()+,-./:=?".contains(&b)
}

/// Splits `digits` (ASCII) into a number; fails unless all are digits.
fn digits(bytes: &[u8]) -> Result<i64, DerError> {
    bytes.iter().try_fold(0i64, |acc, b| {
        if b.is_ascii_digit() {
            Ok(acc * 10 + i64::from(b - b'0'))
        } else {
            Err(DerError::Invalid("time"))
        }
    })
}

fn decode_utc_time(content: &[u8]) -> Result<i64, DerError> {
    // DER: YYMMDDHHMMSSZ (RFC 5280 4.1.2.5.1).
    if content.len() != 13 || content[12] != b'Z' {
        return Err(DerError::Invalid("time"));
    }
    let yy = digits(&content[0..2])?;
    let year = if yy >= 50 { 1900 + yy } else { 2000 + yy };
    civil_to_unix(year, &content[2..12])
}

fn decode_generalized_time(content: &[u8]) -> Result<i64, DerError> {
    // DER: YYYYMMDDHHMMSSZ, no fractional seconds (RFC 5280 4.1.2.5.2).
    if content.len() != 15 || content[14] != b'Z' {
        return Err(DerError::Invalid("time"));
    }
    let year = digits(&content[0..4])?;
    civil_to_unix(year, &content[4..14])
}

/// `rest` is MMDDHHMMSS.
fn civil_to_unix(year: i64, rest: &[u8]) -> Result<i64, DerError> {
    const BAD: DerError = DerError::Invalid("time");
    let month = digits(&rest[0..2])?;
    let day = digits(&rest[2..4])?;
    let hour = digits(&rest[4..6])?;
    let minute = digits(&rest[6..8])?;
    let second = digits(&rest[8..10])?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err(BAD);
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err(BAD);
    }
    Ok(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month, day) of a day number since 1970-01-01 (proleptic Gregorian, H. Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Smallest and largest Unix second that GeneralizedTime can hold (years 0000–9999).
const TIME_MIN: i64 = -62_167_219_200;
const TIME_MAX: i64 = 253_402_300_799;

/// Formats `unix` as (year, "MMDDHHMMSSZ") or fails when out of years 0000–9999.
fn split_time(unix: i64) -> Result<(i64, String), DerError> {
    if !(TIME_MIN..=TIME_MAX).contains(&unix) {
        return Err(DerError::Unencodable("time outside years 0000-9999"));
    }
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let tail = format!(
        "{month:02}{day:02}{:02}{:02}{:02}Z",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    );
    Ok((year, tail))
}

/// Whether RFC 5280 wants UTCTime (years 1950–2049) for this instant.
pub fn is_utc_time_range(unix: i64) -> bool {
    // 1950-01-01T00:00:00Z .. 2049-12-31T23:59:59Z
    (-631_152_000..=2_524_607_999).contains(&unix)
}

/// Appends the minimal DER length octets of `len`.
fn push_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(low_u8(u64::try_from(len).unwrap_or(0)));
        return;
    }
    let bytes = len.to_be_bytes();
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len() - 1);
    let count = bytes.len() - start;
    out.push(0x80 | low_u8(u64::try_from(count).unwrap_or(0)));
    out.extend_from_slice(&bytes[start..]);
}

/// The low 8 bits of `v` (no `as` cast).
fn low_u8(v: u64) -> u8 {
    v.to_le_bytes()[0]
}

/// Builds DER encodings. See the module documentation for error handling.
#[derive(Debug, Default, Clone)]
pub struct Writer {
    buf: Vec<u8>,
    error: Option<DerError>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Writer {
        Writer::default()
    }

    /// The encoding, or the first error met while building it.
    pub fn finish(self) -> Result<Vec<u8>, DerError> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.buf),
        }
    }

    fn fail(&mut self, error: DerError) {
        if self.error.is_none() {
            self.error = Some(error);
        }
    }

    /// Appends already-encoded DER (one or more whole values).
    pub fn raw(&mut self, der: &[u8]) -> &mut Writer {
        self.buf.extend_from_slice(der);
        self
    }

    /// Appends a value with `tag` and `content`.
    pub fn tlv(&mut self, tag: Tag, content: &[u8]) -> &mut Writer {
        if tag.0 & 0x1F == 0x1F {
            self.fail(DerError::Unencodable("multi-octet tag"));
            return self;
        }
        self.buf.push(tag.0);
        push_length(&mut self.buf, content.len());
        self.buf.extend_from_slice(content);
        self
    }

    /// Appends a constructed value with `tag` whose content `build` writes.
    pub fn constructed(&mut self, tag: Tag, build: impl FnOnce(&mut Writer)) -> &mut Writer {
        let mut inner = Writer::new();
        build(&mut inner);
        match inner.error {
            Some(e) => self.fail(e),
            None => {
                self.tlv(Tag(tag.0 | 0x20), &inner.buf);
            }
        }
        self
    }

    /// Appends a SEQUENCE.
    pub fn sequence(&mut self, build: impl FnOnce(&mut Writer)) -> &mut Writer {
        self.constructed(Tag::SEQUENCE, build)
    }

    /// Appends a SET OF: the elements `build` writes are sorted by their encodings, as DER requires.
    pub fn set_of(&mut self, build: impl FnOnce(&mut Writer)) -> &mut Writer {
        let mut inner = Writer::new();
        build(&mut inner);
        if let Some(e) = inner.error {
            self.fail(e);
            return self;
        }
        let mut elements = Vec::new();
        let mut reader = Reader::new(&inner.buf);
        while !reader.is_empty() {
            match reader.read_tlv() {
                Ok(tlv) => elements.push(tlv.raw),
                Err(e) => {
                    self.fail(e);
                    return self;
                }
            }
        }
        elements.sort();
        let content: Vec<u8> = elements.concat();
        self.tlv(Tag::SET, &content)
    }

    /// Appends an explicitly tagged `[number]` wrapping what `build` writes.
    pub fn explicit(&mut self, number: u8, build: impl FnOnce(&mut Writer)) -> &mut Writer {
        self.constructed(Tag::context(number, true), build)
    }

    /// Appends an implicitly tagged primitive `[number]` with `content`.
    pub fn implicit(&mut self, number: u8, content: &[u8]) -> &mut Writer {
        self.tlv(Tag::context(number, false), content)
    }

    /// Appends a BOOLEAN.
    pub fn boolean(&mut self, value: bool) -> &mut Writer {
        self.tlv(Tag::BOOLEAN, &[if value { 0xFF } else { 0x00 }])
    }

    /// Appends a NULL.
    pub fn null(&mut self) -> &mut Writer {
        self.tlv(Tag::NULL, &[])
    }

    /// Appends a non-negative INTEGER from its big-endian magnitude (leading zeros allowed; empty = 0).
    pub fn unsigned_integer(&mut self, magnitude: &[u8]) -> &mut Writer {
        let start = magnitude.iter().position(|b| *b != 0).unwrap_or(magnitude.len());
        let magnitude = &magnitude[start..];
        let mut content = Vec::with_capacity(magnitude.len() + 1);
        if magnitude.first().is_none_or(|b| b & 0x80 != 0) {
            content.push(0);
        }
        content.extend_from_slice(magnitude);
        self.tlv(Tag::INTEGER, &content)
    }

    /// Appends an INTEGER.
    pub fn u64(&mut self, value: u64) -> &mut Writer {
        self.unsigned_integer(&value.to_be_bytes())
    }

    /// Appends an INTEGER.
    pub fn i64(&mut self, value: i64) -> &mut Writer {
        let bytes = value.to_be_bytes();
        // Drop leading octets that only repeat the sign.
        let mut start = 0;
        while start < 7 {
            let (b, next) = (bytes[start], bytes[start + 1]);
            if (b == 0x00 && next & 0x80 == 0) || (b == 0xFF && next & 0x80 != 0) {
                start += 1;
            } else {
                break;
            }
        }
        self.tlv(Tag::INTEGER, &bytes[start..])
    }

    /// Appends an OBJECT IDENTIFIER.
    pub fn oid(&mut self, arcs: &[u64]) -> &mut Writer {
        match encode_oid_content(arcs) {
            Ok(content) => self.tlv(Tag::OID, &content),
            Err(e) => {
                self.fail(e);
                self
            }
        }
    }

    /// Appends a BIT STRING of whole octets.
    pub fn bit_string(&mut self, octets: &[u8]) -> &mut Writer {
        let mut content = Vec::with_capacity(octets.len() + 1);
        content.push(0);
        content.extend_from_slice(octets);
        self.tlv(Tag::BIT_STRING, &content)
    }

    /// Appends an OCTET STRING.
    pub fn octet_string(&mut self, octets: &[u8]) -> &mut Writer {
        self.tlv(Tag::OCTET_STRING, octets)
    }

    /// Appends `value` as a string of type `kind`; fails when the type cannot hold it.
    pub fn string(&mut self, kind: StringKind, value: &str) -> &mut Writer {
        match kind {
            StringKind::Utf8 => self.tlv(Tag::UTF8_STRING, value.as_bytes()),
            StringKind::Printable if value.bytes().all(is_printable) => {
                self.tlv(Tag::PRINTABLE_STRING, value.as_bytes())
            }
            StringKind::Ia5 if value.is_ascii() => self.tlv(Tag::IA5_STRING, value.as_bytes()),
            StringKind::Bmp => {
                let content: Vec<u8> = value.encode_utf16().flat_map(u16::to_be_bytes).collect();
                self.tlv(Tag::BMP_STRING, &content)
            }
            StringKind::Printable | StringKind::Ia5 => {
                self.fail(DerError::Unencodable("string in this string type"));
                self
            }
        }
    }

    /// Appends a UTCTime (years 1950–2049 only).
    pub fn utc_time(&mut self, unix: i64) -> &mut Writer {
        if !is_utc_time_range(unix) {
            self.fail(DerError::Unencodable("utc time outside 1950-2049"));
            return self;
        }
        match split_time(unix) {
            Ok((year, tail)) => self.tlv(Tag::UTC_TIME, format!("{:02}{tail}", year % 100).as_bytes()),
            Err(e) => {
                self.fail(e);
                self
            }
        }
    }

    /// Appends a GeneralizedTime (years 0000–9999).
    pub fn generalized_time(&mut self, unix: i64) -> &mut Writer {
        match split_time(unix) {
            Ok((year, tail)) => self.tlv(Tag::GENERALIZED_TIME, format!("{year:04}{tail}").as_bytes()),
            Err(e) => {
                self.fail(e);
                self
            }
        }
    }

    /// Appends a certificate validity time as RFC 5280 4.1.2.5 asks: UTCTime through 2049, GeneralizedTime after.
    pub fn time(&mut self, unix: i64) -> &mut Writer {
        if is_utc_time_range(unix) {
            self.utc_time(unix)
        } else {
            self.generalized_time(unix)
        }
    }
}

/// Encodes a value with a one-shot writer.
pub fn encode(build: impl FnOnce(&mut Writer)) -> Result<Vec<u8>, DerError> {
    let mut w = Writer::new();
    build(&mut w);
    w.finish()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lengths_are_minimal_and_checked() {
        let long = vec![0u8; 300];
        let der = encode(|w| {
            w.octet_string(&long);
        })
        .unwrap();
        assert_eq!(&der[..4], &[0x04, 0x82, 0x01, 0x2C]);
        let mut r = Reader::new(&der);
        assert_eq!(r.read_octet_string().unwrap().len(), 300);
        assert!(r.is_empty());

        assert_eq!(
            Reader::new(&[0x04, 0x81, 0x05, 1, 2, 3, 4, 5]).read_tlv(),
            Err(DerError::NonMinimalLength)
        );
        assert_eq!(
            Reader::new(&[0x04, 0x82, 0x00, 0x90]).read_tlv(),
            Err(DerError::NonMinimalLength)
        );
        assert_eq!(
            Reader::new(&[0x30, 0x80, 0, 0]).read_tlv(),
            Err(DerError::IndefiniteLength)
        );
        assert_eq!(
            Reader::new(&[0x04, 0x85, 1, 0, 0, 0, 0]).read_tlv(),
            Err(DerError::LengthTooLarge)
        );
        assert_eq!(
            Reader::new(&[0x04, 0x84, 0x7F, 0xFF, 0xFF, 0xFF]).read_tlv(),
            Err(DerError::Truncated)
        );
        assert_eq!(Reader::new(&[0x04, 0x03, 1]).read_tlv(), Err(DerError::Truncated));
        assert_eq!(
            Reader::new(&[0x1F, 0x01, 0]).read_tlv(),
            Err(DerError::HighTagNumber)
        );
        assert_eq!(Reader::new(&[]).read_tlv(), Err(DerError::Truncated));
    }

    #[test]
    fn integers() {
        let cases: &[(i64, &[u8])] = &[
            (0, &[0x02, 0x01, 0x00]),
            (127, &[0x02, 0x01, 0x7F]),
            (128, &[0x02, 0x02, 0x00, 0x80]),
            (256, &[0x02, 0x02, 0x01, 0x00]),
            (-1, &[0x02, 0x01, 0xFF]),
            (-128, &[0x02, 0x01, 0x80]),
            (-129, &[0x02, 0x02, 0xFF, 0x7F]),
            (i64::MIN, &[0x02, 0x08, 0x80, 0, 0, 0, 0, 0, 0, 0]),
        ];
        for (value, der) in cases {
            assert_eq!(
                encode(|w| {
                    w.i64(*value);
                })
                .unwrap(),
                *der,
                "{value}"
            );
            assert_eq!(Reader::new(der).read_i64().unwrap(), *value);
        }
        // The serial of the Windows CAL's licence certificate.
        let der = encode(|w| {
            w.u64(0x03_0000_000F);
        })
        .unwrap();
        assert_eq!(der, [0x02, 0x05, 0x03, 0x00, 0x00, 0x00, 0x0F]);
        assert_eq!(
            encode(|w| {
                w.u64(u64::MAX);
            })
            .unwrap(),
            [0x02, 0x09, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        );
        assert_eq!(
            Reader::new(&[0x02, 0x01, 0xFF]).read_u64(),
            Err(DerError::IntegerOutOfRange)
        );
        assert_eq!(
            Reader::new(&[0x02, 0x02, 0x00, 0x01]).read_u64(),
            Err(DerError::Invalid("integer"))
        );
        assert_eq!(
            Reader::new(&[0x02, 0x00]).read_u64(),
            Err(DerError::Invalid("integer"))
        );
        assert_eq!(
            encode(|w| {
                w.unsigned_integer(&[0x00, 0x00, 0x9E]);
            })
            .unwrap(),
            [0x02, 0x02, 0x00, 0x9E]
        );
        assert_eq!(
            Reader::new(&[0x02, 0x02, 0x00, 0x9E])
                .read_unsigned_bytes()
                .unwrap(),
            &[0x9E]
        );
    }

    #[test]
    fn oids() {
        let oid: Oid = "1.3.6.1.4.1.311.18.5".parse().unwrap();
        let der = encode(|w| {
            w.oid(&oid.0);
        })
        .unwrap();
        assert_eq!(
            der,
            [0x06, 0x09, 0x2B, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x12, 0x05]
        );
        assert_eq!(Reader::new(&der).read_oid().unwrap(), oid);
        assert_eq!(oid.to_string(), "1.3.6.1.4.1.311.18.5");
        // sha1WithRSA (OIW), what Microsoft license servers sign with.
        assert_eq!(
            Oid::from_content(&[0x2B, 0x0E, 0x03, 0x02, 0x1D])
                .unwrap()
                .to_string(),
            "1.3.14.3.2.29"
        );
        assert_eq!(
            Oid::from_content(&[0x88, 0x37, 0x03]).unwrap().to_string(),
            "2.999.3"
        );
        assert!(Oid::from_content(&[]).is_err());
        assert!(Oid::from_content(&[0x2B, 0x86]).is_err());
        assert!(Oid::from_content(&[0x2B, 0x80, 0x01]).is_err());
        assert!("1.40".parse::<Oid>().is_err());
        assert!("3.1".parse::<Oid>().is_err());
        assert!(encode(|w| {
            w.oid(&[1]);
        })
        .is_err());
    }

    #[test]
    fn times() {
        // The validity of the Windows CAL's licence certificate.
        let mut r = Reader::new(b"\x17\x0d070620145135Z\x17\x0d070918145135Z");
        assert_eq!(r.read_time().unwrap(), 1_182_351_095);
        assert_eq!(r.read_time().unwrap(), 1_190_127_095);
        for (unix, der) in [
            (0i64, &b"\x17\x0d700101000000Z"[..]),
            (1_182_351_095, b"\x17\x0d070620145135Z"),
            (2_524_607_999, b"\x17\x0d491231235959Z"),
            (2_524_608_000, b"\x18\x0f20500101000000Z"),
            (-631_152_001, b"\x18\x0f19491231235959Z"),
            (951_782_400, b"\x17\x0d000229000000Z"),
            (253_402_300_799, b"\x18\x0f99991231235959Z"),
        ] {
            assert_eq!(
                encode(|w| {
                    w.time(unix);
                })
                .unwrap(),
                der,
                "{unix}"
            );
            assert_eq!(Reader::new(der).read_time().unwrap(), unix);
        }
        for bad in [
            &b"\x17\x0d070230145135Z"[..],
            b"\x17\x0d071320145135Z",
            b"\x17\x0d070620245135Z",
            b"\x17\x0b0706201451Z",
            b"\x17\x0d07062014513+Z",
            b"\x18\x1120070620145135.5Z",
            b"\x17\x0d070620145135X",
        ] {
            assert!(Reader::new(bad).read_time().is_err(), "{bad:?}");
        }
        assert!(encode(|w| {
            w.time(TIME_MAX + 1);
        })
        .is_err());
    }

    #[test]
    fn strings() {
        let der = encode(|w| {
            w.string(StringKind::Bmp, "RODENT");
        })
        .unwrap();
        assert_eq!(der, b"\x1e\x0c\x00R\x00O\x00D\x00E\x00N\x00T");
        assert_eq!(
            Reader::new(&der).read_string().unwrap(),
            (StringKind::Bmp, "RODENT".to_owned())
        );
        let emoji = "é😀";
        let der = encode(|w| {
            w.string(StringKind::Bmp, emoji);
        })
        .unwrap();
        assert_eq!(Reader::new(&der).read_string().unwrap().1, emoji);
        assert!(Reader::new(b"\x1e\x03\x00R\x00").read_string().is_err());
        assert!(Reader::new(b"\x1e\x02\xd8\x00").read_string().is_err());
        assert!(encode(|w| {
            w.string(StringKind::Printable, "a@b");
        })
        .is_err());
        assert!(Reader::new(b"\x13\x03a@b").read_string().is_err());
        assert!(Reader::new(b"\x0c\x01\xff").read_string().is_err());
    }

    #[test]
    fn set_of_is_sorted_and_nesting_is_bounded() {
        let der = encode(|w| {
            w.set_of(|w| {
                w.u64(300).u64(5).boolean(true);
            });
        })
        .unwrap();
        assert_eq!(
            der,
            [0x31, 0x0A, 0x01, 0x01, 0xFF, 0x02, 0x01, 0x05, 0x02, 0x02, 0x01, 0x2C]
        );

        let mut nested = vec![0x05, 0x00];
        for _ in 0..(MAX_DEPTH + 2) {
            nested = encode(|w| {
                w.sequence(|w| {
                    w.raw(&nested);
                });
            })
            .unwrap();
        }
        assert_eq!(validate(&nested), Err(DerError::TooDeep));
        let mut r = Reader::new(&nested);
        let mut result = Ok(());
        for _ in 0..(MAX_DEPTH + 2) {
            match r.read_sequence() {
                Ok(inner) => r = inner,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        assert_eq!(result, Err(DerError::TooDeep));
    }

    #[test]
    fn bit_strings() {
        assert_eq!(
            Reader::new(&[0x03, 0x02, 0x00, 0xAB])
                .read_bit_string_octets()
                .unwrap(),
            &[0xAB]
        );
        assert_eq!(
            Reader::new(&[0x03, 0x02, 0x04, 0xA0]).read_bit_string().unwrap(),
            (4, &[0xA0][..])
        );
        assert!(Reader::new(&[0x03, 0x02, 0x04, 0xA1]).read_bit_string().is_err());
        assert!(Reader::new(&[0x03, 0x01, 0x01]).read_bit_string().is_err());
        assert!(Reader::new(&[0x03, 0x00]).read_bit_string().is_err());
        assert!(Reader::new(&[0x03, 0x02, 0x01, 0xA0])
            .read_bit_string_octets()
            .is_err());
    }

    /// A tree of values the writer can make, for the round-trip property.
    #[derive(Debug, Clone)]
    enum Value {
        Bool(bool),
        Int(i64),
        Oid(Vec<u64>),
        Octets(Vec<u8>),
        Str(StringKind, String),
        Time(i64),
        Null,
        Seq(Vec<Value>),
        Explicit(u8, Box<Value>),
    }

    fn write_value(w: &mut Writer, v: &Value) {
        match v {
            Value::Bool(b) => {
                w.boolean(*b);
            }
            Value::Int(i) => {
                w.i64(*i);
            }
            Value::Oid(arcs) => {
                w.oid(arcs);
            }
            Value::Octets(o) => {
                w.octet_string(o);
            }
            Value::Str(kind, s) => {
                w.string(*kind, s);
            }
            Value::Time(t) => {
                w.time(*t);
            }
            Value::Null => {
                w.null();
            }
            Value::Seq(items) => {
                w.sequence(|w| items.iter().for_each(|i| write_value(w, i)));
            }
            Value::Explicit(n, inner) => {
                w.explicit(*n, |w| write_value(w, inner));
            }
        }
    }

    fn read_value(r: &mut Reader<'_>, like: &Value) -> Value {
        match like {
            Value::Bool(_) => Value::Bool(r.read_bool().unwrap()),
            Value::Int(_) => Value::Int(r.read_i64().unwrap()),
            Value::Oid(_) => Value::Oid(r.read_oid().unwrap().0),
            Value::Octets(_) => Value::Octets(r.read_octet_string().unwrap().to_vec()),
            Value::Str(..) => {
                let (k, s) = r.read_string().unwrap();
                Value::Str(k, s)
            }
            Value::Time(_) => Value::Time(r.read_time().unwrap()),
            Value::Null => {
                r.read_null().unwrap();
                Value::Null
            }
            Value::Seq(items) => {
                let mut inner = r.read_sequence().unwrap();
                let out = items.iter().map(|i| read_value(&mut inner, i)).collect();
                inner.finish().unwrap();
                Value::Seq(out)
            }
            Value::Explicit(n, v) => {
                let mut inner = r.read_explicit(*n).unwrap();
                let out = read_value(&mut inner, v);
                inner.finish().unwrap();
                Value::Explicit(*n, Box::new(out))
            }
        }
    }

    fn same(a: &Value, b: &Value) -> bool {
        format!("{a:?}") == format!("{b:?}")
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            (0u64..3, 0u64..40, prop::collection::vec(any::<u64>(), 0..6)).prop_map(|(a, b, rest)| {
                let mut arcs = vec![a, b];
                arcs.extend(rest);
                Value::Oid(arcs)
            }),
            prop::collection::vec(any::<u8>(), 0..300).prop_map(Value::Octets),
            "[a-zA-Z0-9 ]{0,20}".prop_map(|s| Value::Str(StringKind::Printable, s)),
            any::<String>().prop_map(|s| Value::Str(StringKind::Utf8, s)),
            any::<String>().prop_map(|s| Value::Str(StringKind::Bmp, s)),
            (TIME_MIN..=TIME_MAX).prop_map(Value::Time),
            Just(Value::Null),
        ];
        leaf.prop_recursive(6, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Seq),
                (0u8..31, inner).prop_map(|(n, v)| Value::Explicit(n, Box::new(v))),
            ]
        })
    }

    proptest! {
        #[test]
        fn reader_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = validate(&bytes);
            let mut r = Reader::new(&bytes);
            let _ = r.read_tlv();
            let mut r = Reader::new(&bytes);
            let _ = r.read_time();
            let mut r = Reader::new(&bytes);
            let _ = r.read_string();
            let mut r = Reader::new(&bytes);
            let _ = r.read_oid();
            let mut r = Reader::new(&bytes);
            let _ = r.read_i64();
            let mut r = Reader::new(&bytes);
            let _ = r.read_bit_string();
            let mut r = Reader::new(&bytes);
            let _ = r.read_sequence().map(|mut s| s.read_u64());
        }

        #[test]
        fn writer_output_round_trips(v in arb_value()) {
            let der = encode(|w| write_value(w, &v)).unwrap();
            prop_assert_eq!(validate(&der), Ok(()));
            let mut r = Reader::new(&der);
            let back = read_value(&mut r, &v);
            prop_assert!(r.is_empty());
            prop_assert!(same(&v, &back), "{:?} != {:?}", v, back);
            // Every proper prefix is an error, never a panic.
            for cut in 0..der.len() {
                prop_assert!(validate(&der[..cut]).is_err());
            }
        }
    }
}
