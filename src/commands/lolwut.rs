//! LOLWUT: the version banner, with computer art for versions 5 and 6, as
//! Redis 7.0 answers it.
//!
//! Owns: the command's argument rules (`VERSION <n>` first, then the
//! version's own numeric arguments, clamped as Redis clamps them) and two
//! small renderers written for RedisLite: version 5 draws, in the spirit
//! of Georg Nees's "Schotter", a grid of squares that tilt and drift more
//! the lower they sit, in Braille dots; version 6 a skyline of grey
//! blocks in terminal colours. Like Redis's, both are random, so only
//! their frame (size, captions, the version line) can be compared.
//!
//! Must never: allocate by an argument (the canvas is bounded by the
//! clamps: at most 1000 columns).

use super::{parse_int, Argv};
use crate::connection::Client;
use crate::errors::{CmdError, CmdResult};
use crate::server::Server;

/// The version LOLWUT reports (the Redis version clients see).
fn banner() -> String {
    format!("Redis ver. {}\n", super::connection::REDIS_COMPAT_VERSION)
}

/// LOLWUT [VERSION version] [version-specific numbers...]
pub fn lolwut(_srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let (version, first) = if argv.len() >= 3 && argv.is(1, "version") {
        (parse_int(argv.get(2)).map_err(|_| CmdError::NotInteger)?, 3)
    } else {
        (7, 1)
    };
    // Only the versions that draw read their numbers (others ignore any
    // argument, as Redis's banner-only version does).
    let mut nums = Vec::new();
    if matches!(version, 5 | 6) {
        for i in first..argv.len() {
            nums.push(parse_int(argv.get(i)).map_err(|_| CmdError::NotInteger)?);
        }
    }
    let arg =
        |i: usize, default: i64, max: i64| nums.get(i).copied().unwrap_or(default).clamp(1, max);
    let mut seed = crate::db::unix_ms() as u64 ^ c.id.rotate_left(32);
    let text = match version {
        5 => {
            let art = schotter(arg(0, 66, 1000), arg(1, 8, 200), arg(2, 12, 200), &mut seed);
            format!(
                "{art}\nGeorg Nees - schotter, plotter on paper, 1968. {}",
                banner()
            )
        }
        6 => {
            let art = skyline(arg(0, 80, 1000), arg(1, 20, 1000), &mut seed);
            format!(
                "{art}Dedicated to the 8 bit game developers of past and present.\nOriginal 8 bit image from Plaguemon by hikikomori. {}",
                banner()
            )
        }
        _ => banner(),
    };
    c.reply().verbatim(text.as_bytes());
    Ok(())
}

/// A uniform float in [0, 1).
fn unit(seed: &mut u64) -> f64 {
    (crate::dict::rng_next(seed) >> 11) as f64 / (1u64 << 53) as f64
}

/// A monochrome canvas printed as Braille characters, 2x4 dots each.
struct Canvas {
    width: usize,
    height: usize,
    dots: Vec<bool>,
}

impl Canvas {
    fn new(width: usize, height: usize) -> Canvas {
        Canvas {
            width,
            height,
            dots: vec![false; width * height],
        }
    }

    fn set(&mut self, x: i64, y: i64) {
        if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
            self.dots[y as usize * self.width + x as usize] = true;
        }
    }

    /// A straight line (Bresenham's walk).
    fn line(&mut self, (x0, y0): (i64, i64), (x1, y1): (i64, i64)) {
        let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
        let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
        let (mut x, mut y, mut err) = (x0, y0, dx + dy);
        loop {
            self.set(x, y);
            if x == x1 && y == y1 {
                return;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
    }

    /// One text line per 4 dot rows, each line ending in a newline.
    fn render(&self) -> String {
        // Bit of each dot of a cell in the Unicode Braille block.
        const BITS: [[u32; 2]; 4] = [[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]];
        let mut out = String::new();
        for row in (0..self.height).step_by(4) {
            for col in (0..self.width).step_by(2) {
                let mut code = 0;
                for (dy, bits) in BITS.iter().enumerate() {
                    for (dx, bit) in bits.iter().enumerate() {
                        let (x, y) = (col + dx, row + dy);
                        if x < self.width && y < self.height && self.dots[y * self.width + x] {
                            code |= bit;
                        }
                    }
                }
                out.push(char::from_u32(0x2800 + code).unwrap_or(' '));
            }
            out.push('\n');
        }
        out
    }
}

/// Version 5: `per_row` x `per_col` squares on a canvas `cols` characters
/// wide, row k tilted by up to k/per_col of a right angle and shifted by
/// up to a third of a side.
fn schotter(cols: i64, per_row: i64, per_col: i64, seed: &mut u64) -> String {
    let width = cols as usize * 2;
    let padding = if width > 4 { 2 } else { 0 };
    let side = (width - padding * 2) as f64 / per_row as f64;
    let height = (side * per_col as f64) as usize + padding * 2;
    let mut canvas = Canvas::new(width, height);
    for row in 0..per_col {
        for col in 0..per_row {
            let disorder = row as f64 / per_col as f64;
            let mut signed = |scale: f64| (unit(seed) * 2.0 - 1.0) * scale * disorder;
            let angle = signed(std::f64::consts::FRAC_PI_4);
            let (dx, dy) = (signed(side / 3.0), signed(side / 3.0));
            let cx = padding as f64 + side * (col as f64 + 0.5) + dx;
            let cy = padding as f64 + side * (row as f64 + 0.5) + dy;
            let half = side / 2.0;
            let corner = |k: usize| {
                let a =
                    angle + std::f64::consts::FRAC_PI_2 * k as f64 + std::f64::consts::FRAC_PI_4;
                let r = half * std::f64::consts::SQRT_2;
                (
                    (cx + r * a.cos()).round() as i64,
                    (cy + r * a.sin()).round() as i64,
                )
            };
            for k in 0..4 {
                canvas.line(corner(k), corner((k + 1) % 4));
            }
        }
    }
    canvas.render()
}

/// Version 6: `rows` lines of `cols` coloured cells: a pale sky over
/// blocks of three greys, lit windows here and there.
fn skyline(cols: i64, rows: i64, seed: &mut u64) -> String {
    // (foreground, background) codes of black, dark grey, light grey and
    // white cells.
    const SHADES: [(u8, u8); 4] = [(30, 40), (90, 100), (37, 47), (97, 107)];
    let (cols, rows) = (cols as usize, rows as usize);
    let mut shade = vec![3usize; cols * rows];
    let mut x = 0;
    while x < cols {
        let w = 3 + (crate::dict::rng_next(seed) % 8) as usize;
        let h = (unit(seed) * rows as f64 * 0.8) as usize + rows / 5;
        let tone = (crate::dict::rng_next(seed) % 3) as usize;
        for bx in x..(x + w).min(cols) {
            for y in rows.saturating_sub(h)..rows {
                let window = tone == 0 && (bx - x) % 2 == 1 && y % 2 == 0;
                shade[y * cols + bx] = if window { 2 } else { tone };
            }
        }
        x += w + (crate::dict::rng_next(seed) % 3) as usize;
    }
    let mut out = String::new();
    for y in 0..rows {
        for x in 0..cols {
            let (fg, bg) = SHADES[shade[y * cols + x]];
            out.push_str(&format!("\x1b[0;{fg};{bg}m \x1b[0m"));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schotter_has_the_frame_redis_gives() {
        let mut seed = 7;
        // 5 columns, 2x2 squares: a 10x10 dot canvas, 3 text rows of 5.
        let art = schotter(5, 2, 2, &mut seed);
        let lines: Vec<&str> = art.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines.iter().all(|l| l.chars().count() == 5));
        // The first row of squares is not disturbed: its top edge is lit.
        assert_ne!(lines[0], "\u{2800}".repeat(5));
        assert_eq!(schotter(1, 1, 1, &mut seed).lines().count(), 1);
    }

    #[test]
    fn skyline_has_rows_of_cells() {
        let mut seed = 3;
        let art = skyline(10, 5, &mut seed);
        assert_eq!(art.lines().count(), 5);
        assert!(art.lines().all(|l| l.matches("\x1b[0m").count() == 10));
    }
}
