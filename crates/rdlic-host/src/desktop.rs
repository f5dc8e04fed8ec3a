//! The status desktop: a 32 bpp frame with a few lines of text (host, user, client, licensing result) drawn with
//! a built-in 5×7 font, sent as uncompressed 64×64 fast-path bitmap tiles ([MS-RDPBCGR 2.2.9.1.2.1.2]).

use ironrdp_core::encode_vec;
use ironrdp_pdu::bitmap::{BitmapData, BitmapUpdateData, Compression};
use ironrdp_pdu::fast_path::{EncryptionFlags, FastPathHeader, FastPathUpdatePdu, Fragmentation, UpdateCode};
use ironrdp_pdu::geometry::InclusiveRectangle;

/// Desktop width announced in the Demand Active.
pub(crate) const WIDTH: u16 = 800;
/// Desktop height announced in the Demand Active.
pub(crate) const HEIGHT: u16 = 600;

const TILE: u16 = 64;
const SCALE: usize = 3;
const GLYPH_W: usize = 5;
const GLYPH_H: usize = 7;
const CELL_W: usize = (GLYPH_W + 1) * SCALE;
const LINE_H: usize = (GLYPH_H + 3) * SCALE;

const BACKGROUND: [u8; 4] = [0x5a, 0x2e, 0x12, 0xff]; // B, G, R, X: dark blue
const FOREGROUND: [u8; 4] = [0xf0, 0xf0, 0xf0, 0xff];
const ACCENT: [u8; 4] = [0x40, 0xc0, 0xff, 0xff]; // amber

/// A frame in 32 bpp BGRX, top-down.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    pixels: Vec<u8>,
}

impl Frame {
    /// A frame with a title line and `lines` of text.
    pub(crate) fn status(title: &str, lines: &[String]) -> Self {
        let mut frame = Self { pixels: vec![0; usize::from(WIDTH) * usize::from(HEIGHT) * 4] };
        frame.fill(BACKGROUND);
        frame.text(24, 24, title, ACCENT);
        for (i, line) in lines.iter().enumerate() {
            frame.text(24, 24 + LINE_H * (i + 2), line, FOREGROUND);
        }
        frame
    }

    fn fill(&mut self, color: [u8; 4]) {
        for px in self.pixels.chunks_exact_mut(4) {
            px.copy_from_slice(&color);
        }
    }

    fn put(&mut self, x: usize, y: usize, color: [u8; 4]) {
        if x < usize::from(WIDTH) && y < usize::from(HEIGHT) {
            let at = (y * usize::from(WIDTH) + x) * 4;
            self.pixels[at..at + 4].copy_from_slice(&color);
        }
    }

    fn text(&mut self, x0: usize, y0: usize, text: &str, color: [u8; 4]) {
        for (i, ch) in text.chars().enumerate() {
            let rows = glyph(ch);
            for (row, bits) in rows.iter().enumerate() {
                for col in 0..GLYPH_W {
                    if bits & (0x10 >> col) != 0 {
                        for dy in 0..SCALE {
                            for dx in 0..SCALE {
                                self.put(x0 + i * CELL_W + col * SCALE + dx, y0 + row * SCALE + dy, color);
                            }
                        }
                    }
                }
            }
        }
    }

    /// Fast-path Bitmap Update PDUs, one per 64×64 tile (edge tiles smaller), covering the whole frame.
    pub(crate) fn fast_path_updates(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut top = 0u16;
        while top < HEIGHT {
            let h = TILE.min(HEIGHT - top);
            let mut left = 0u16;
            while left < WIDTH {
                let w = TILE.min(WIDTH - left);
                if let Some(pdu) = self.tile_update(left, top, w, h) {
                    out.push(pdu);
                }
                left += w;
            }
            top += h;
        }
        out
    }

    fn tile_update(&self, left: u16, top: u16, w: u16, h: u16) -> Option<Vec<u8>> {
        // Uncompressed bitmap data is bottom-up.
        let mut data = Vec::with_capacity(usize::from(w) * usize::from(h) * 4);
        for row in (0..h).rev() {
            let y = usize::from(top + row);
            let start = (y * usize::from(WIDTH) + usize::from(left)) * 4;
            data.extend_from_slice(&self.pixels[start..start + usize::from(w) * 4]);
        }
        let update = BitmapUpdateData {
            rectangles: vec![BitmapData {
                rectangle: InclusiveRectangle { left, top, right: left + w - 1, bottom: top + h - 1 },
                width: w,
                height: h,
                bits_per_pixel: 32,
                compression_flags: Compression::empty(),
                compressed_data_header: None,
                bitmap_data: &data,
            }],
        };
        let body = encode_vec(&update).ok()?;
        let pdu = FastPathUpdatePdu {
            fragmentation: Fragmentation::Single,
            update_code: UpdateCode::Bitmap,
            compression_flags: None,
            compression_type: None,
            data: &body,
        };
        let pdu = encode_vec(&pdu).ok()?;
        let header = FastPathHeader::new(EncryptionFlags::empty(), pdu.len());
        let mut out = encode_vec(&header).ok()?;
        out.extend_from_slice(&pdu);
        Some(out)
    }
}

/// 5×7 glyphs, one byte per row, bit 4 leftmost. Lower case is drawn as upper case.
fn glyph(ch: char) -> [u8; 7] {
    match ch.to_ascii_uppercase() {
        ' ' => [0; 7],
        'A' => [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'B' => [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        'C' => [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E],
        'D' => [0x1E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1E],
        'E' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        'F' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        'G' => [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F],
        'H' => [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'I' => [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'J' => [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        'K' => [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
        'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        'M' => [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11],
        'N' => [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        'O' => [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'P' => [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        'Q' => [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D],
        'R' => [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        'S' => [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        'T' => [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        'U' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'V' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'W' => [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A],
        'X' => [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        'Y' => [0x11, 0x11, 0x0A, 0x04, 0x04, 0x04, 0x04],
        'Z' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        ':' => [0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00],
        '.' => [0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C],
        ',' => [0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08],
        '-' => [0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00],
        '_' => [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F],
        '/' => [0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00],
        '\\' => [0x00, 0x10, 0x08, 0x04, 0x02, 0x01, 0x00],
        '(' => [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02],
        ')' => [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08],
        '[' => [0x0E, 0x08, 0x08, 0x08, 0x08, 0x08, 0x0E],
        ']' => [0x0E, 0x02, 0x02, 0x02, 0x02, 0x02, 0x0E],
        '@' => [0x0E, 0x11, 0x17, 0x15, 0x17, 0x10, 0x0E],
        '=' => [0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00],
        '+' => [0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00],
        '\'' => [0x04, 0x04, 0x08, 0x00, 0x00, 0x00, 0x00],
        '?' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04],
        '!' => [0x04, 0x04, 0x04, 0x04, 0x04, 0x00, 0x04],
        '#' => [0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A],
        '%' => [0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03],
        _ => [0x1F, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1F],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_cover_the_desktop() {
        let frame = Frame::status("RDLIC", &["USER: ALICE".to_owned()]);
        let updates = frame.fast_path_updates();
        // 13 columns (12 full + 1 of 32 px) × 10 rows (9 full + 1 of 24 px).
        assert_eq!(updates.len(), 130);
        // Fast-path action 0, then a two-byte length (high bit set) that matches the PDU.
        let first = &updates[0];
        assert_eq!(first[0] & 0x03, 0);
        let len = usize::from(u16::from_be_bytes([first[1] & 0x7f, first[2]]));
        assert_eq!(len, first.len());
        // The text changed some pixels of the first tile row.
        assert!(frame.pixels.chunks_exact(4).any(|p| p == FOREGROUND));
    }
}
