//! Reading the data modes rqrr does not: FNC1 (GS1 and industry formats), structured
//! append headers, and the segments that follow them.
//!
//! rqrr corrects a symbol's codewords and then decodes its segments, but stops with
//! `UnknownDataType` at mode indicators it does not know (0011 structured append, 0101
//! and 1001 FNC1). That error comes *after* its Reed-Solomon correction succeeded, so
//! the symbol is known to be readable; rqrr's corrected stream is private, though. For
//! exactly that case, and only then, this module reads the data codewords again
//! (through rqrr's own format and zigzag reading), corrects them block by block (the
//! same Berlekamp-Massey and Forney steps rqrr uses, with each corrected block checked
//! against its syndromes) and decodes the segments, all modes included. GS1 labels
//! (serial, GTIN and batch in one code) use FNC1; distributors print them on ONT boxes.
//!
//! The output follows rqrr's conventions so the caller treats it like any other payload:
//! bytes as the symbol holds them, kanji as Shift_JIS, ECI designators skipped; under
//! FNC1 the GS1 separator (FNC1 in a field, `%` in alphanumeric mode) is byte 0x1D.
//! Hanzi segments (GB2312, Chinese operators' labels) are written as UTF-8.

/// Codeword layout per version (index 0 = version 1) and per error-correction level in
/// rqrr's order (the format bits: M, L, H, Q): (EC codewords per block, short blocks,
/// data codewords per short block, long blocks with one data codeword more).
/// ISO/IEC 18004 table 9.
const BLOCKS: [[(u8, u8, u8, u8); 4]; 40] = [
    [(10, 1, 16, 0), (7, 1, 19, 0), (17, 1, 9, 0), (13, 1, 13, 0)],
    [
        (16, 1, 28, 0),
        (10, 1, 34, 0),
        (28, 1, 16, 0),
        (22, 1, 22, 0),
    ],
    [
        (26, 1, 44, 0),
        (15, 1, 55, 0),
        (22, 2, 13, 0),
        (18, 2, 17, 0),
    ],
    [
        (18, 2, 32, 0),
        (20, 1, 80, 0),
        (16, 4, 9, 0),
        (26, 2, 24, 0),
    ],
    [
        (24, 2, 43, 0),
        (26, 1, 108, 0),
        (22, 2, 11, 2),
        (18, 2, 15, 2),
    ],
    [
        (16, 4, 27, 0),
        (18, 2, 68, 0),
        (28, 4, 15, 0),
        (24, 4, 19, 0),
    ],
    [
        (18, 4, 31, 0),
        (20, 2, 78, 0),
        (26, 4, 13, 1),
        (18, 2, 14, 4),
    ],
    [
        (22, 2, 38, 2),
        (24, 2, 97, 0),
        (26, 4, 14, 2),
        (22, 4, 18, 2),
    ],
    [
        (22, 3, 36, 2),
        (30, 2, 116, 0),
        (24, 4, 12, 4),
        (20, 4, 16, 4),
    ],
    [
        (26, 4, 43, 1),
        (18, 2, 68, 2),
        (28, 6, 15, 2),
        (24, 6, 19, 2),
    ],
    [
        (30, 1, 50, 4),
        (20, 4, 81, 0),
        (24, 3, 12, 8),
        (28, 4, 22, 4),
    ],
    [
        (22, 6, 36, 2),
        (24, 2, 92, 2),
        (28, 7, 14, 4),
        (26, 4, 20, 6),
    ],
    [
        (22, 8, 37, 1),
        (26, 4, 107, 0),
        (22, 12, 11, 4),
        (24, 8, 20, 4),
    ],
    [
        (24, 4, 40, 5),
        (30, 3, 115, 1),
        (24, 11, 12, 5),
        (20, 11, 16, 5),
    ],
    [
        (24, 5, 41, 5),
        (22, 5, 87, 1),
        (24, 11, 12, 7),
        (30, 5, 24, 7),
    ],
    [
        (28, 7, 45, 3),
        (24, 5, 98, 1),
        (30, 3, 15, 13),
        (24, 15, 19, 2),
    ],
    [
        (28, 10, 46, 1),
        (28, 1, 107, 5),
        (28, 2, 14, 17),
        (28, 1, 22, 15),
    ],
    [
        (26, 9, 43, 4),
        (30, 5, 120, 1),
        (28, 2, 14, 19),
        (28, 17, 22, 1),
    ],
    [
        (26, 3, 44, 11),
        (28, 3, 113, 4),
        (26, 9, 13, 16),
        (26, 17, 21, 4),
    ],
    [
        (26, 3, 41, 13),
        (28, 3, 107, 5),
        (28, 15, 15, 10),
        (30, 15, 24, 5),
    ],
    [
        (26, 17, 42, 0),
        (28, 4, 116, 4),
        (30, 19, 16, 6),
        (28, 17, 22, 6),
    ],
    [
        (28, 17, 46, 0),
        (28, 2, 111, 7),
        (24, 34, 13, 0),
        (30, 7, 24, 16),
    ],
    [
        (28, 4, 47, 14),
        (30, 4, 121, 5),
        (30, 16, 15, 14),
        (30, 11, 24, 14),
    ],
    [
        (28, 6, 45, 14),
        (30, 6, 117, 4),
        (30, 30, 16, 2),
        (30, 11, 24, 16),
    ],
    [
        (28, 8, 47, 13),
        (26, 8, 106, 4),
        (30, 22, 15, 13),
        (30, 7, 24, 22),
    ],
    [
        (28, 19, 46, 4),
        (28, 10, 114, 2),
        (30, 33, 16, 4),
        (28, 28, 22, 6),
    ],
    [
        (28, 22, 45, 3),
        (30, 8, 122, 4),
        (30, 12, 15, 28),
        (30, 8, 23, 26),
    ],
    [
        (28, 3, 45, 23),
        (30, 3, 117, 10),
        (30, 11, 15, 31),
        (30, 4, 24, 31),
    ],
    [
        (28, 21, 45, 7),
        (30, 7, 116, 7),
        (30, 19, 15, 26),
        (30, 1, 23, 37),
    ],
    [
        (28, 19, 47, 10),
        (30, 5, 115, 10),
        (30, 23, 15, 25),
        (30, 15, 24, 25),
    ],
    [
        (28, 2, 46, 29),
        (30, 13, 115, 3),
        (30, 23, 15, 28),
        (30, 42, 24, 1),
    ],
    [
        (28, 10, 46, 23),
        (30, 17, 115, 0),
        (30, 19, 15, 35),
        (30, 10, 24, 35),
    ],
    [
        (28, 14, 46, 21),
        (30, 17, 115, 1),
        (30, 11, 15, 46),
        (30, 29, 24, 19),
    ],
    [
        (28, 14, 46, 23),
        (30, 13, 115, 6),
        (30, 59, 16, 1),
        (30, 44, 24, 7),
    ],
    [
        (28, 12, 47, 26),
        (30, 12, 121, 7),
        (30, 22, 15, 41),
        (30, 39, 24, 14),
    ],
    [
        (28, 6, 47, 34),
        (30, 6, 121, 14),
        (30, 2, 15, 64),
        (30, 46, 24, 10),
    ],
    [
        (28, 29, 46, 14),
        (30, 17, 122, 4),
        (30, 24, 15, 46),
        (30, 49, 24, 10),
    ],
    [
        (28, 13, 46, 32),
        (30, 4, 122, 18),
        (30, 42, 15, 32),
        (30, 48, 24, 14),
    ],
    [
        (28, 40, 47, 7),
        (30, 20, 117, 4),
        (30, 10, 15, 67),
        (30, 43, 24, 22),
    ],
    [
        (28, 18, 47, 31),
        (30, 19, 118, 6),
        (30, 20, 15, 61),
        (30, 34, 24, 34),
    ],
];

/// GF(256) with the QR polynomial x^8 + x^4 + x^3 + x^2 + 1: exp and log tables.
struct Gf {
    exp: [u8; 512],
    log: [u8; 256],
}

const GF: Gf = {
    let mut exp = [0u8; 512];
    let mut log = [0u8; 256];
    let mut x: u16 = 1;
    let mut i = 0;
    while i < 255 {
        exp[i] = x as u8;
        log[x as usize] = i as u8;
        x <<= 1;
        if x & 0x100 != 0 {
            x ^= 0x11d;
        }
        i += 1;
    }
    while i < 512 {
        exp[i] = exp[i - 255];
        i += 1;
    }
    Gf { exp, log }
};

fn mul(a: u8, b: u8) -> u8 {
    if a == 0 || b == 0 {
        0
    } else {
        GF.exp[GF.log[a as usize] as usize + GF.log[b as usize] as usize]
    }
}

fn div(a: u8, b: u8) -> Option<u8> {
    if b == 0 {
        return None;
    }
    if a == 0 {
        return Some(0);
    }
    Some(GF.exp[GF.log[a as usize] as usize + 255 - GF.log[b as usize] as usize])
}

/// α^n.
fn pow_a(n: usize) -> u8 {
    GF.exp[n % 255]
}

const MAX_EC: usize = 64;

/// Syndromes of a block (data then EC codewords); `None` when all are zero.
fn syndromes(block: &[u8], npar: usize) -> Option<[u8; MAX_EC]> {
    let mut s = [0u8; MAX_EC];
    let mut nonzero = false;
    for (i, si) in s.iter_mut().enumerate().take(npar) {
        for (j, &c) in block.iter().rev().enumerate() {
            *si ^= mul(c, pow_a(i * j));
        }
        nonzero |= *si != 0;
    }
    nonzero.then_some(s)
}

fn poly_eval(p: &[u8; MAX_EC], x: u8) -> u8 {
    let (mut sum, mut xp) = (0u8, 1u8);
    for &c in p {
        sum ^= mul(c, xp);
        xp = mul(xp, x);
    }
    sum
}

/// Corrects one Reed-Solomon block in place (`npar` EC codewords at its end); false
/// when it holds more errors than the code corrects.
fn correct_block(block: &mut [u8], npar: usize) -> bool {
    if npar == 0 || npar >= MAX_EC || block.len() > 255 || block.len() <= npar {
        return false;
    }
    let Some(s) = syndromes(block, npar) else {
        return true;
    };
    // Berlekamp-Massey: the error locator sigma.
    let (mut c, mut b) = ([0u8; MAX_EC], [0u8; MAX_EC]);
    c[0] = 1;
    b[0] = 1;
    let (mut l, mut m, mut bd) = (0usize, 1usize, 1u8);
    for n in 0..npar {
        let mut d = s[n];
        for i in 1..=l {
            d ^= mul(c[i], s[n - i]);
        }
        if d == 0 {
            m += 1;
            continue;
        }
        let Some(coef) = div(d, bd) else {
            return false;
        };
        let t = c;
        for i in 0..MAX_EC - m {
            c[i + m] ^= mul(coef, b[i]);
        }
        if 2 * l <= n {
            l = n + 1 - l;
            b = t;
            bd = d;
            m = 1;
        } else {
            m += 1;
        }
    }
    // Formal derivative (odd terms) and the error evaluator omega.
    let mut deriv = [0u8; MAX_EC];
    for i in (1..MAX_EC).step_by(2) {
        deriv[i - 1] = c[i];
    }
    let mut omega = [0u8; MAX_EC];
    for i in 0..npar - 1 {
        for j in 0..npar - 1 - i {
            omega[i + j] ^= mul(c[i], s[j + 1]);
        }
    }
    let len = block.len();
    let mut errors = 0;
    for i in 0..len {
        let xinv = pow_a(255 - i);
        if poly_eval(&c, xinv) == 0 {
            let Some(e) = div(poly_eval(&omega, xinv), poly_eval(&deriv, xinv)) else {
                return false;
            };
            block[len - 1 - i] ^= e;
            errors += 1;
        }
    }
    errors <= l && syndromes(block, npar).is_none()
}

/// Reads a grid rqrr reported as correctable but in a mode it does not decode; `None`
/// when this reading fails too.
pub(crate) fn decode_all_modes<G: rqrr::BitGrid>(grid: &G) -> Option<Vec<u8>> {
    read_codewords(grid)
        .or_else(|| read_codewords(&Transposed(grid)))
        .and_then(|(version, data)| segments(version, &data))
}

/// The corrected data codewords and the version, or `None`.
fn read_codewords<G: rqrr::BitGrid>(grid: &G) -> Option<(usize, Vec<u8>)> {
    let (meta, _) = rqrr::Grid::new(GridRef(grid)).get_raw_data().ok()?;
    let version = meta.version.0;
    let mask = meta.mask;
    // rqrr reads the data modules masked; unmask them here (format modules left alone,
    // so rqrr reads the same format again).
    let unmasked = Unmasked { grid, mask };
    let (_, raw) = rqrr::Grid::new(unmasked).get_raw_data().ok()?;
    let &(ec, ns, dw, nl) = BLOCKS
        .get(version.checked_sub(1)?)?
        .get(usize::from(meta.ecc_level))?;
    let (ec, ns, dw, nl) = (ec as usize, ns as usize, dw as usize, nl as usize);
    let blocks = ns + nl;
    let total = blocks * (dw + ec) + nl;
    let stream = raw.data.get(..total)?;
    if raw.len / 8 < total {
        return None;
    }
    let mut data = Vec::with_capacity(blocks * dw + nl);
    let mut block = Vec::with_capacity(dw + 1 + ec);
    let ec_offset = dw * blocks + nl;
    for i in 0..blocks {
        let long = i >= ns;
        block.clear();
        for j in 0..dw {
            block.push(stream[j * blocks + i]);
        }
        if long {
            // The long blocks' extra data codewords follow the common columns.
            block.push(stream[dw * blocks + (i - ns)]);
        }
        for j in 0..ec {
            block.push(stream[ec_offset + j * blocks + i]);
        }
        if !correct_block(&mut block, ec) {
            return None;
        }
        data.extend_from_slice(&block[..block.len() - ec]);
    }
    Some((version, data))
}

struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bits<'_> {
    fn left(&self) -> usize {
        self.data.len() * 8 - self.pos
    }

    fn take(&mut self, n: usize) -> Option<u32> {
        if n > self.left() || n > 32 {
            return None;
        }
        let mut v = 0u32;
        for _ in 0..n {
            let bit = (self.data[self.pos / 8] >> (7 - self.pos % 8)) & 1;
            v = (v << 1) | u32::from(bit);
            self.pos += 1;
        }
        Some(v)
    }
}

const ALNUM: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/// Decodes the segments of corrected data codewords: every mode of ISO/IEC 18004, and
/// Hanzi (the Chinese national extension, GB/T 18284).
fn segments(version: usize, data: &[u8]) -> Option<Vec<u8>> {
    let size_class = match version {
        1..=9 => 0,
        10..=26 => 1,
        _ => 2,
    };
    let mut bits = Bits { data, pos: 0 };
    let mut out = Vec::new();
    let mut fnc1 = false;
    while bits.left() >= 4 {
        match bits.take(4)? {
            0 => break,
            1 => {
                let mut n = bits.take([10, 12, 14][size_class])? as usize;
                while n > 0 {
                    let digits = n.min(3);
                    let v = bits.take([4, 7, 10][digits - 1])?;
                    if v >= 10u32.pow(digits as u32) {
                        return None;
                    }
                    out.extend(format!("{v:0digits$}").bytes());
                    n -= digits;
                }
            }
            2 => {
                let mut n = bits.take([9, 11, 13][size_class])? as usize;
                let start = out.len();
                while n > 0 {
                    if n >= 2 {
                        let v = bits.take(11)? as usize;
                        out.push(*ALNUM.get(v / 45)?);
                        out.push(ALNUM[v % 45]);
                        n -= 2;
                    } else {
                        out.push(*ALNUM.get(bits.take(6)? as usize)?);
                        n -= 1;
                    }
                }
                if fnc1 {
                    // Under FNC1, "%%" is a percent sign and a lone "%" the separator.
                    let seg = out.split_off(start);
                    let mut i = 0;
                    while i < seg.len() {
                        if seg[i] == b'%' {
                            if seg.get(i + 1) == Some(&b'%') {
                                out.push(b'%');
                                i += 1;
                            } else {
                                out.push(0x1d);
                            }
                        } else {
                            out.push(seg[i]);
                        }
                        i += 1;
                    }
                }
            }
            4 => {
                let n = bits.take([8, 16, 16][size_class])?;
                for _ in 0..n {
                    out.push(bits.take(8)? as u8);
                }
            }
            8 => {
                let n = bits.take([8, 10, 12][size_class])?;
                for _ in 0..n {
                    let d = bits.take(13)?;
                    let v = (d / 0xc0) << 8 | (d % 0xc0);
                    let sjis = if v + 0x8140 <= 0x9ffc {
                        v + 0x8140
                    } else {
                        v + 0xc140
                    };
                    out.push((sjis >> 8) as u8);
                    out.push(sjis as u8);
                }
            }
            7 => {
                // ECI designator: 1, 2 or 3 bytes by its leading bits; skipped.
                let first = bits.take(8)?;
                if first & 0x80 == 0x80 {
                    bits.take(if first & 0xc0 == 0x80 { 8 } else { 16 })?;
                }
            }
            // Structured append: symbol index, count and parity.
            3 => {
                bits.take(16)?;
            }
            5 => fnc1 = true,
            9 => {
                // FNC1 in second position: an application indicator.
                bits.take(8)?;
                fnc1 = true;
            }
            13 => {
                // Hanzi (GB/T 18284): subset 1 is GB2312, written out as UTF-8 since
                // nothing downstream reads GB2312.
                if bits.take(4)? != 1 {
                    return None;
                }
                let n = bits.take([8, 10, 12][size_class])?;
                let mut gb = Vec::with_capacity(2 * n as usize);
                for _ in 0..n {
                    let d = bits.take(13)?;
                    let v = (d / 0x60) << 8 | (d % 0x60);
                    let code = if v < 0x0a00 { v + 0xa1a1 } else { v + 0xa6a1 };
                    gb.push((code >> 8) as u8);
                    gb.push(code as u8);
                }
                // Without the `cjk-text` feature (the phone library: ONT labels are ASCII)
                // a Hanzi segment is not readable, and so neither is the code.
                #[cfg(feature = "cjk-text")]
                {
                    let (text, had_errors) = encoding_rs::GBK.decode_without_bom_handling(&gb);
                    if had_errors {
                        return None;
                    }
                    out.extend_from_slice(text.as_bytes());
                }
                #[cfg(not(feature = "cjk-text"))]
                return None;
            }
            _ => return None,
        }
    }
    Some(out)
}

/// A grid whose data modules read unmasked (mask `mask` undone), format modules as-is.
struct Unmasked<'a, G> {
    grid: &'a G,
    mask: u16,
}

impl<G: rqrr::BitGrid> rqrr::BitGrid for Unmasked<'_, G> {
    fn size(&self) -> usize {
        self.grid.size()
    }

    fn bit(&self, y: usize, x: usize) -> bool {
        let n = self.grid.size();
        let format = (y == 8 && (x <= 8 || x + 8 >= n)) || (x == 8 && (y <= 8 || y + 8 >= n));
        let flip = !format
            && match self.mask {
                0 => (y + x) % 2 == 0,
                1 => y % 2 == 0,
                2 => x % 3 == 0,
                3 => (y + x) % 3 == 0,
                4 => (y / 2 + x / 3) % 2 == 0,
                5 => (y * x) % 2 + (y * x) % 3 == 0,
                6 => ((y * x) % 2 + (y * x) % 3) % 2 == 0,
                _ => ((y * x) % 3 + (y + x) % 2) % 2 == 0,
            };
        self.grid.bit(y, x) != flip
    }
}

/// The grid read across its diagonal (a symbol seen from the back), as rqrr retries.
struct Transposed<'a, G>(&'a G);

impl<G: rqrr::BitGrid> rqrr::BitGrid for Transposed<'_, G> {
    fn size(&self) -> usize {
        self.0.size()
    }

    fn bit(&self, y: usize, x: usize) -> bool {
        self.0.bit(x, y)
    }
}

/// A borrowed grid for `rqrr::Grid::new`, which takes its grid by value (the decoder and the
/// mode reader here both hand it the same grid).
pub(super) struct GridRef<'a, G>(pub(super) &'a G);

impl<G: rqrr::BitGrid> rqrr::BitGrid for GridRef<'_, G> {
    fn size(&self) -> usize {
        self.0.size()
    }

    fn bit(&self, y: usize, x: usize) -> bool {
        self.0.bit(y, x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Systematic RS encoding with the QR generator (roots α^0..α^(npar-1)).
    fn encode(data: &[u8], npar: usize) -> Vec<u8> {
        let mut g = vec![1u8];
        for i in 0..npar {
            let mut next = vec![0u8; g.len() + 1];
            for (j, &c) in g.iter().enumerate() {
                next[j] ^= c;
                next[j + 1] ^= mul(c, pow_a(i));
            }
            g = next;
        }
        let mut rem = data.to_vec();
        rem.resize(data.len() + npar, 0);
        for i in 0..data.len() {
            let coef = rem[i];
            if coef != 0 {
                for (j, &gj) in g.iter().enumerate().skip(1) {
                    rem[i + j] ^= mul(gj, coef);
                }
            }
        }
        let mut out = data.to_vec();
        out.extend_from_slice(&rem[data.len()..]);
        out
    }

    #[test]
    fn reed_solomon_corrects_up_to_half_its_ec_codewords() {
        let data: Vec<u8> = (0..19u8).map(|i| i.wrapping_mul(37) ^ 0x5a).collect();
        let clean = encode(&data, 7);
        assert!(
            syndromes(&clean, 7).is_none(),
            "the encoder makes codewords"
        );
        // Version 1-L: 7 EC codewords correct 3 errors anywhere.
        let mut damaged = clean.clone();
        for (i, e) in [(0, 0xff), (11, 0x01), (24, 0x80)] {
            damaged[i] ^= e;
        }
        assert!(correct_block(&mut damaged, 7));
        assert_eq!(damaged, clean);
        // Four errors are beyond it: refused, or (like any RS decoder past its bound)
        // moved to another valid codeword, never left half-corrected.
        let mut broken = clean.clone();
        for i in [1, 5, 9, 13] {
            broken[i] ^= 0x33;
        }
        if correct_block(&mut broken, 7) {
            assert!(broken != clean && syndromes(&broken, 7).is_none());
        }
        // Nonsense sizes are refused, not panicked on.
        assert!(!correct_block(&mut [0u8; 4], 0));
        assert!(!correct_block(&mut [0u8; 4], 4));
    }

    /// Bits written MSB first, padded to whole codewords.
    fn pack(fields: &[(u32, usize)]) -> Vec<u8> {
        let mut bits = Vec::new();
        for &(v, n) in fields {
            for i in (0..n).rev() {
                bits.push((v >> i) & 1 == 1);
            }
        }
        bits.chunks(8)
            .map(|c| {
                c.iter()
                    .enumerate()
                    .fold(0u8, |b, (i, &x)| b | (u8::from(x) << (7 - i)))
            })
            .collect()
    }

    #[test]
    fn fnc1_segments_read_as_gs1_with_separators() {
        // FNC1 first, numeric "01" + alphanumeric "1%2%%" (a field separator and a
        // literal percent sign), then byte "x", terminator.
        let a: Vec<u32> = b"1%2%%"
            .iter()
            .map(|&c| ALNUM.iter().position(|&a| a == c).unwrap() as u32)
            .collect();
        let data = pack(&[
            (5, 4),
            (1, 4),
            (2, 10),
            (1, 7),
            (2, 4),
            (5, 9),
            (a[0] * 45 + a[1], 11),
            (a[2] * 45 + a[3], 11),
            (a[4], 6),
            (4, 4),
            (1, 8),
            (b'x' as u32, 8),
            (0, 4),
        ]);
        assert_eq!(segments(1, &data).unwrap(), b"011\x1d2%x");
    }

    #[test]
    #[cfg(feature = "cjk-text")]
    fn structured_append_headers_are_skipped_and_hanzi_read_as_utf8() {
        // Structured append (symbol 1 of 2, parity 0x5a), Hanzi "阿" (GB2312 B0A2).
        // Rows from 0xB0 on are offset by 0xA6A1 (the first rows by 0xA1A1).
        let gb = 0xb0a2u32 - 0xa6a1;
        let hanzi = (gb >> 8) * 0x60 + (gb & 0xff);
        let data = pack(&[
            (3, 4),
            (0x01, 8),
            (0x5a, 8),
            (13, 4),
            (1, 4),
            (1, 8),
            (hanzi, 13),
            (0, 4),
        ]);
        assert_eq!(segments(1, &data).unwrap(), "阿".as_bytes());
        // An unknown mode (or a Hanzi subset other than GB2312) is no reading at all.
        assert!(segments(1, &pack(&[(6, 4), (0, 12)])).is_none());
        assert!(segments(1, &pack(&[(13, 4), (2, 4), (0, 8)])).is_none());
        // A count running past the data is refused, not read past the end.
        assert!(segments(1, &pack(&[(4, 4), (200, 8), (0, 4)])).is_none());
    }

    #[test]
    fn the_block_table_adds_up_to_each_version_s_codewords() {
        // Total codewords per version (ISO/IEC 18004 table 1): the same at every level.
        let total = |v: usize, l: usize| {
            let (ec, ns, dw, nl) = BLOCKS[v - 1][l];
            let (ec, ns, dw, nl) = (ec as usize, ns as usize, dw as usize, nl as usize);
            (ns + nl) * (dw + ec) + nl
        };
        for (v, want) in [(1, 26), (2, 44), (7, 196), (10, 346), (40, 3706)] {
            for l in 0..4 {
                assert_eq!(total(v, l), want, "version {v} level {l}");
            }
        }
    }
}
