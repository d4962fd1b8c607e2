//! Geohash arithmetic for the geo commands: longitude/latitude to a
//! 52-bit interleaved cell number (a geo set's zset score) and back, cell
//! neighbours, great-circle distances, and the choice of the nine cells a
//! radius or box search scans.
//!
//! Owns: the numeric representation of a point as Redis 7.0 stores it.
//! A geo set is a plain sorted set whose scores are these cell numbers, so
//! the scores must be bit-identical to redis-server's for RDB, DUMP and
//! replication to interoperate, and every decoded coordinate and distance
//! must be computed with the same floating-point operations in the same
//! order (the replies print 17 decimals of them).
//!
//! Must never: touch the keyspace or the wire (pure functions, unit
//! tested here, checked against redis-server by tests/it/differential_geo.rs),
//! or panic on any score a client can ZADD (negative, huge, infinite).
//!
//! Invariants: a cell at step `s` has `2*s` significant bits; latitude bits
//! sit at even positions and longitude bits at odd ones (so the top bit of
//! a 52-bit score is the longitude's, as in standard geohash strings);
//! neighbour moves wrap around modulo `2^s` on each axis.

/// Longitude limits.
pub const LON_MIN: f64 = -180.0;
pub const LON_MAX: f64 = 180.0;
/// Latitude limits of the Web Mercator square that Redis indexes.
pub const LAT_MIN: f64 = -85.05112878;
pub const LAT_MAX: f64 = 85.05112878;
/// Bits per axis of a stored point (26 + 26 = 52, exact in a double).
pub const STEP_MAX: u32 = 26;
/// The Earth radius Redis's haversine uses, in metres.
pub const EARTH_RADIUS_M: f64 = 6372797.560856;
/// Half the Mercator world's width in metres: the radius beyond which the
/// coarsest cells are needed.
const MERCATOR_MAX: f64 = 20037726.37;

/// One cell: `bits` (2*step significant bits) at resolution `step`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    pub bits: u64,
    pub step: u32,
}

/// The bounds of a cell in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Area {
    pub lon_min: f64,
    pub lon_max: f64,
    pub lat_min: f64,
    pub lat_max: f64,
}

/// True when Redis accepts (lon, lat) as a point.
pub fn valid(lon: f64, lat: f64) -> bool {
    (LON_MIN..=LON_MAX).contains(&lon) && (LAT_MIN..=LAT_MAX).contains(&lat)
}

/// Spread the low 32 bits of `v` to the even bit positions of a u64.
fn spread(v: u32) -> u64 {
    let mut x = u64::from(v);
    x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333;
    (x | (x << 1)) & 0x5555_5555_5555_5555
}

/// The inverse of [`spread`]: the even bits of `x`, packed.
fn squash(x: u64) -> u32 {
    let mut x = x & 0x5555_5555_5555_5555;
    x = (x | (x >> 1)) & 0x3333_3333_3333_3333;
    x = (x | (x >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x >> 4)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x >> 8)) & 0x0000_FFFF_0000_FFFF;
    (x | (x >> 16)) as u32
}

/// Latitude bits at even positions, longitude bits at odd ones.
fn interleave(lat: u32, lon: u32) -> u64 {
    spread(lat) | (spread(lon) << 1)
}

/// (latitude part, longitude part) of interleaved bits.
fn deinterleave(bits: u64) -> (u32, u32) {
    (squash(bits), squash(bits >> 1))
}

/// C's double -> uint32 conversion for the values encoding produces
/// (0 ..= 2^step): truncation toward zero.
fn offset_bits(v: f64) -> u32 {
    v as u32
}

/// Encode within the given latitude range (the Mercator one for stored
/// points, [-90, 90] for GEOHASH strings). The point must be valid. At
/// the upper limit of an axis the offset is 2^step, one bit past the
/// cell's width: Redis keeps that bit (180 longitude scores 2^53 + ...),
/// and so do we, because the scores must match.
fn encode_in(lon: f64, lat: f64, lat_min: f64, lat_max: f64, step: u32) -> Cell {
    let lat_offset = (lat - lat_min) / (lat_max - lat_min);
    let lon_offset = (lon - LON_MIN) / (LON_MAX - LON_MIN);
    let scale = (1u64 << step) as f64;
    Cell {
        bits: interleave(
            offset_bits(lat_offset * scale),
            offset_bits(lon_offset * scale),
        ),
        step,
    }
}

/// The cell of a valid point at `step`; None outside the indexed square.
pub fn encode(lon: f64, lat: f64, step: u32) -> Option<Cell> {
    valid(lon, lat).then(|| encode_in(lon, lat, LAT_MIN, LAT_MAX, step))
}

/// The score GEOADD stores for a valid point (None outside the square).
pub fn score_of(lon: f64, lat: f64) -> Option<f64> {
    encode(lon, lat, STEP_MAX).map(|c| c.bits as f64)
}

/// A cell's bounds in degrees. Bits beyond the step (a score that was
/// ZADDed rather than GEOADDed) give bounds outside the world; callers
/// clamp the centre.
pub fn decode(cell: Cell) -> Area {
    let (ilat, ilon) = deinterleave(cell.bits);
    let scale = (1u64 << cell.step) as f64;
    let lat_span = LAT_MAX - LAT_MIN;
    let lon_span = LON_MAX - LON_MIN;
    // u32 arithmetic for the upper edge, wrapping as the C original's.
    let lat_hi = ilat.wrapping_add(1);
    let lon_hi = ilon.wrapping_add(1);
    Area {
        lat_min: LAT_MIN + (f64::from(ilat) / scale) * lat_span,
        lat_max: LAT_MIN + (f64::from(lat_hi) / scale) * lat_span,
        lon_min: LON_MIN + (f64::from(ilon) / scale) * lon_span,
        lon_max: LON_MIN + (f64::from(lon_hi) / scale) * lon_span,
    }
}

/// The centre of a cell, clamped to the indexed square: what GEOPOS and
/// WITHCOORD report for a stored point.
pub fn decode_center(cell: Cell) -> (f64, f64) {
    let a = decode(cell);
    let lon = ((a.lon_min + a.lon_max) / 2.0).clamp(LON_MIN, LON_MAX);
    let lat = ((a.lat_min + a.lat_max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    (lon, lat)
}

/// A zset score as the cell bits Redis reads from it: x86-64's
/// double -> uint64 conversion (what redis-server's C cast compiles to),
/// so a score that no GEOADD could produce decodes as it does there.
pub fn score_bits(score: f64) -> u64 {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    // cvttsd2si: the truncated value if it fits an i64, else 1 << 63.
    let cvtt = |v: f64| -> u64 {
        if v.is_nan() || !(-TWO_63..TWO_63).contains(&v) {
            1 << 63
        } else {
            v as i64 as u64
        }
    };
    if score >= TWO_63 {
        cvtt(score - TWO_63) ^ (1 << 63)
    } else {
        cvtt(score)
    }
}

/// The coordinates of a stored point: the centre of its step-26 cell.
pub fn score_to_lonlat(score: f64) -> (f64, f64) {
    decode_center(Cell {
        bits: score_bits(score),
        step: STEP_MAX,
    })
}

/// GEOHASH's 11-character string: the point re-encoded over the standard
/// latitude range [-90, 90], five bits per character from the top; the
/// 52 bits fill ten characters and the eleventh is always '0'.
pub fn hash_string(lon: f64, lat: f64) -> [u8; 11] {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let bits = encode_in(lon, lat, -90.0, 90.0, STEP_MAX).bits;
    let mut out = [b'0'; 11];
    for (i, c) in out.iter_mut().enumerate().take(10) {
        *c = ALPHABET[((bits >> (52 - (i + 1) * 5)) & 0x1f) as usize];
    }
    out
}

/// Move a cell by `dlon` cells east and `dlat` cells north. The moved
/// axis wraps around modulo 2^step; an axis that does not move keeps its
/// bits as they are, including the carry bit of a point on the world's
/// upper edge (180 longitude, the top latitude). Redis's bit arithmetic
/// does exactly this, and searches from such a point depend on it.
fn moved(cell: Cell, dlon: i64, dlat: i64) -> Cell {
    let (ilat, ilon) = deinterleave(cell.bits);
    let mask = (1u64 << cell.step) - 1;
    let shift = |v: u32, d: i64| {
        if d == 0 {
            v
        } else {
            (u64::from(v).wrapping_add(d as u64) & mask) as u32
        }
    };
    Cell {
        bits: interleave(shift(ilat, dlat), shift(ilon, dlon)),
        step: cell.step,
    }
}

/// The eight neighbours, in the order the search visits them: north,
/// south, east, west, north-east, north-west, south-east, south-west.
pub fn neighbours(cell: Cell) -> [Cell; 8] {
    [
        moved(cell, 0, 1),
        moved(cell, 0, -1),
        moved(cell, 1, 0),
        moved(cell, -1, 0),
        moved(cell, 1, 1),
        moved(cell, -1, 1),
        moved(cell, 1, -1),
        moved(cell, -1, -1),
    ]
}

fn deg_rad(d: f64) -> f64 {
    d * (std::f64::consts::PI / 180.0)
}

fn rad_deg(r: f64) -> f64 {
    r / (std::f64::consts::PI / 180.0)
}

/// Distance in metres between two latitudes on one meridian.
pub fn lat_distance(lat1: f64, lat2: f64) -> f64 {
    EARTH_RADIUS_M * (deg_rad(lat2) - deg_rad(lat1)).abs()
}

/// Great-circle distance in metres (haversine). When the longitudes are
/// the same the meridian formula is used, as Redis 7.0 does: it is both
/// cheaper and what the replies are computed with.
pub fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let v = ((deg_rad(lon2) - deg_rad(lon1)) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1, lat2);
    }
    let lat1r = deg_rad(lat1);
    let lat2r = deg_rad(lat2);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_M * a.sqrt().asin()
}

/// The area a search covers, in the request's unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Extent {
    Radius(f64),
    /// Full width and height.
    Box {
        width: f64,
        height: f64,
    },
}

/// A search area: its extent in the request's unit and the unit's size in
/// metres. Kept apart (rather than converted once) because Redis converts
/// at each use, and the rounding of those products decides edge cases.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    pub extent: Extent,
    pub to_m: f64,
}

impl Shape {
    /// The radius in metres of the circle that contains the shape.
    fn outer_radius_m(self) -> f64 {
        let r = match self.extent {
            Extent::Radius(r) => r,
            Extent::Box { width, height } => {
                ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt()
            }
        };
        r * self.to_m
    }

    /// Whether `(lon, lat)` is inside the shape centred at
    /// `(clon, clat)`, and if so its distance from the centre in metres.
    pub fn contains(self, clon: f64, clat: f64, lon: f64, lat: f64) -> Option<f64> {
        match self.extent {
            Extent::Radius(r) => {
                let d = distance(clon, clat, lon, lat);
                (d <= r * self.to_m).then_some(d)
            }
            Extent::Box { width, height } => {
                // The cheap latitude test first; the longitude extent is
                // measured along the point's own parallel.
                if lat_distance(lat, clat) > height * self.to_m / 2.0 {
                    return None;
                }
                if distance(lon, lat, clon, lat) > width * self.to_m / 2.0 {
                    return None;
                }
                Some(distance(clon, clat, lon, lat))
            }
        }
    }

    /// [min_lon, min_lat, max_lon, max_lat] of the shape around a centre.
    fn bounding_box(self, lon: f64, lat: f64) -> [f64; 4] {
        let (half_h, half_w) = match self.extent {
            Extent::Radius(r) => (r, r),
            Extent::Box { width, height } => (height / 2.0, width / 2.0),
        };
        let (half_h, half_w) = (self.to_m * half_h, self.to_m * half_w);
        let lat_delta = rad_deg(half_h / EARTH_RADIUS_M);
        // A parallel's length shrinks toward the poles: the longitude
        // extent is widest on the edge nearer the pole.
        let lon_delta_top = rad_deg(half_w / EARTH_RADIUS_M / deg_rad(lat + lat_delta).cos());
        let lon_delta_bottom = rad_deg(half_w / EARTH_RADIUS_M / deg_rad(lat - lat_delta).cos());
        let lon_delta = if lat < 0.0 {
            lon_delta_bottom
        } else {
            lon_delta_top
        };
        [
            lon - lon_delta,
            lat - lat_delta,
            lon + lon_delta,
            lat + lat_delta,
        ]
    }
}

/// The step whose cells are about as wide as the search radius, so that
/// the centre cell and its eight neighbours cover it.
pub fn estimate_step(radius_m: f64, lat: f64) -> u32 {
    if radius_m == 0.0 {
        return STEP_MAX;
    }
    let mut range = radius_m;
    let mut step: i32 = 1;
    // Bounded: each turn doubles a positive range (an infinite one never
    // enters); a tiny one reaches MERCATOR_MAX in ~1100 turns at most.
    while range < MERCATOR_MAX {
        range *= 2.0;
        step += 1;
    }
    step -= 2;
    // Cells are narrower (in metres) toward the poles.
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, STEP_MAX as i32) as u32
}

/// The cells a search around (lon, lat) scans, in visiting order (the
/// centre, then the neighbours in [`neighbours`]' order); None for a
/// neighbour the shape's bounding box cannot reach.
pub fn search_cells(lon: f64, lat: f64, shape: Shape) -> [Option<Cell>; 9] {
    let [min_lon, min_lat, max_lon, max_lat] = shape.bounding_box(lon, lat);
    let mut step = estimate_step(shape.outer_radius_m(), lat);
    let around = |step: u32| {
        let centre = encode_in(lon, lat, LAT_MIN, LAT_MAX, step);
        (centre, neighbours(centre))
    };
    let (mut centre, mut nb) = around(step);
    // When the shape reaches past a neighbour (the point sits near its
    // cell's edge), one step coarser makes the nine cells cover it.
    let north = decode(nb[0]);
    let south = decode(nb[1]);
    let east = decode(nb[2]);
    let west = decode(nb[3]);
    let too_small = north.lat_max < max_lat
        || south.lat_min > min_lat
        || east.lon_max < max_lon
        || west.lon_min > min_lon;
    if step > 1 && too_small {
        step -= 1;
        (centre, nb) = around(step);
    }
    let mut cells = [Some(centre), None, None, None, None, None, None, None, None];
    for (slot, n) in cells[1..].iter_mut().zip(nb) {
        *slot = Some(n);
    }
    if step >= 2 {
        // Skip the neighbours on a side the shape does not reach.
        let area = decode(centre);
        // Indexes into `cells`: N=1 S=2 E=3 W=4 NE=5 NW=6 SE=7 SW=8.
        let mut drop = |idx: [usize; 3]| idx.iter().for_each(|&i| cells[i] = None);
        if area.lat_min < min_lat {
            drop([2, 8, 7]);
        }
        if area.lat_max > max_lat {
            drop([1, 5, 6]);
        }
        if area.lon_min < min_lon {
            drop([4, 8, 6]);
        }
        if area.lon_max > max_lon {
            drop([3, 7, 5]);
        }
    }
    cells
}

/// The score range [min, max) of the step-26 points inside a cell.
pub fn score_range(cell: Cell) -> (f64, f64) {
    let shift = 52 - cell.step * 2;
    let min = cell.bits << shift;
    let max = (cell.bits + 1) << shift;
    (min as f64, max as f64)
}

/// Format like C's `%.17Lf` of the value followed by Redis's trimming of
/// trailing zeros (and a bare '.'), with "-0" printed as "0": how GEOPOS
/// and WITHCOORD print coordinates.
pub fn human_coordinate(v: f64) -> String {
    let mut s = format!("{v:.17}");
    if s.contains('.') {
        let trimmed = s.trim_end_matches('0').trim_end_matches('.').len();
        s.truncate(trimmed);
    }
    if s == "-0" {
        s = "0".into();
    }
    s
}

/// `%.4f`: how distances are printed.
pub fn format_distance(d: f64) -> String {
    format!("{d:.4}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleave_roundtrips() {
        for (a, b) in [
            (0u32, 0u32),
            (1, 0),
            (0, 1),
            (0x3ff_ffff, 0x155_5555),
            (u32::MAX, 7),
        ] {
            assert_eq!(deinterleave(interleave(a, b)), (a, b));
        }
        assert_eq!(interleave(1, 0), 1);
        assert_eq!(interleave(0, 1), 2);
    }

    #[test]
    fn scores_match_redis() {
        // Values read from redis-server 7.0.15 (ZRANGE ... WITHSCORES).
        assert_eq!(score_of(13.361389, 38.115556), Some(3479099956230698.0));
        assert_eq!(score_of(15.087269, 37.502669), Some(3479447370796909.0));
        assert_eq!(score_of(0.0, 0.0), Some(3377699720527872.0));
        assert_eq!(score_of(-180.0, -85.05112878), Some(0.0));
        // The upper edges carry into bits 52 and 53, as in Redis.
        assert_eq!(score_of(180.0, 85.05112878), Some(13510798882111488.0));
        assert_eq!(score_of(180.0000001, 0.0), None);
        assert_eq!(score_of(0.0, -85.06), None);
    }

    #[test]
    fn decoded_coordinates_match_redis() {
        let (lon, lat) = score_to_lonlat(3479099956230698.0);
        assert_eq!(human_coordinate(lon), "13.36138933897018433");
        assert_eq!(human_coordinate(lat), "38.11555639549629859");
        let (lon, lat) = score_to_lonlat(0.0);
        assert_eq!(human_coordinate(lon), "-179.99999731779098511");
        assert_eq!(human_coordinate(lat), "-85.05112751263942528");
        let (lon, lat) = score_to_lonlat(13510798882111488.0);
        assert_eq!(human_coordinate(lon), "180");
        assert_eq!(human_coordinate(lat), "85.0511287799999991");
    }

    #[test]
    fn hash_strings_match_redis() {
        let s = |score: f64| {
            let (lon, lat) = score_to_lonlat(score);
            String::from_utf8(hash_string(lon, lat).to_vec()).unwrap()
        };
        assert_eq!(s(3479099956230698.0), "sqc8b49rny0");
        assert_eq!(s(0.0), "00bh0hbj200");
        assert_eq!(s(3377699720527872.0), "s0000000000");
        assert_eq!(s(13510798882111488.0), "bp05b5048p0");
    }

    #[test]
    fn distances_match_redis() {
        let (a, b) = (
            score_to_lonlat(3479099956230698.0),
            score_to_lonlat(3479447370796909.0),
        );
        assert_eq!(format_distance(distance(a.0, a.1, b.0, b.1)), "166274.1516");
        assert_eq!(format_distance(distance(a.0, a.1, a.0, a.1)), "0.0000");
        // Same longitude: the meridian formula.
        assert_eq!(distance(1.0, 0.0, 1.0, 1.0), lat_distance(0.0, 1.0));
    }

    #[test]
    fn neighbours_wrap_around() {
        let c = encode(0.0, 0.0, 2).unwrap();
        let n = neighbours(c);
        let (clat, clon) = deinterleave(c.bits);
        for cell in n {
            let (lat, lon) = deinterleave(cell.bits);
            assert!(lat.abs_diff(clat) <= 1 && lon.abs_diff(clon) <= 1);
            assert!(lat < 4 && lon < 4);
        }
        // West of the westmost cell is the eastmost one.
        let w = encode(-180.0, 0.0, 3).unwrap();
        let (_, lon) = deinterleave(neighbours(w)[3].bits);
        assert_eq!(lon, 7);
        // A point on the east edge: its cell carries past the top bit;
        // north and south keep that, east and west wrap it.
        let e = encode(180.0, 0.0, 3).unwrap();
        assert_eq!(deinterleave(e.bits).1, 8);
        let n = neighbours(e);
        assert_eq!(deinterleave(n[0].bits).1, 8);
        assert_eq!(deinterleave(n[2].bits).1, 1);
        assert_eq!(deinterleave(n[3].bits).1, 7);
    }

    #[test]
    fn step_estimates() {
        assert_eq!(estimate_step(0.0, 0.0), 26);
        assert_eq!(estimate_step(1.0, 0.0), 24);
        assert_eq!(estimate_step(1e9, 0.0), 1);
        assert_eq!(estimate_step(f64::INFINITY, 0.0), 1);
        assert!(estimate_step(1000.0, 70.0) < estimate_step(1000.0, 10.0));
        assert!(estimate_step(1000.0, -85.0) < estimate_step(1000.0, -70.0));
    }

    #[test]
    fn odd_scores_do_not_panic() {
        for s in [
            -1.0,
            -1e300,
            1e300,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            2f64.powi(63),
        ] {
            let (lon, lat) = score_to_lonlat(s);
            assert!(valid(lon, lat));
            let _ = hash_string(lon, lat);
        }
        assert_eq!(score_bits(-1.0), u64::MAX);
        assert_eq!(score_bits(f64::NAN), 1 << 63);
    }

    #[test]
    fn human_format_trims() {
        assert_eq!(human_coordinate(2.0), "2");
        assert_eq!(human_coordinate(-0.0), "0");
        assert_eq!(human_coordinate(0.5), "0.5");
        assert_eq!(human_coordinate(2.68220901489e-06), "0.00000268220901489");
    }

    #[test]
    fn search_covers_the_centre_cell() {
        let shape = Shape {
            extent: Extent::Radius(200.0),
            to_m: 1000.0,
        };
        let cells = search_cells(15.0, 37.0, shape);
        let c = cells[0].unwrap();
        let (lo, hi) = score_range(c);
        let s = score_of(15.0, 37.0).unwrap();
        assert!(lo <= s && s < hi);
    }
}
