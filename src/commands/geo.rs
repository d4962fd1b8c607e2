//! The geo commands (Redis's geo.c): GEOADD, GEOPOS, GEODIST, GEOHASH,
//! GEOSEARCH, GEOSEARCHSTORE, and the legacy GEORADIUS, GEORADIUSBYMEMBER
//! (with STORE / STOREDIST) and their _RO forms.
//!
//! A geo set is a plain sorted set whose scores are 52-bit geohash cells
//! (types/geohash.rs holds all the arithmetic): GEOADD is ZADD with
//! computed scores (and is propagated as that ZADD, as Redis does), ZRANGE
//! reads a geo set, ZADD'ed scores are readable by GEOPOS.
//!
//! Must never: allocate by a COUNT the client sent (results grow with the
//! points found), write an error text outside errors.rs, or change the
//! keyspace before every argument has been checked (a command applies
//! fully or not at all).
//!
//! Invariants: arguments are checked in Redis 7.0's order, so the same
//! error wins when several are present (the source key's type first; for a
//! missing source, the remaining arguments are still parsed, but a
//! FROMMEMBER / BYMEMBER member and GEORADIUSBYMEMBER's radius are not);
//! a search visits cells and orders its results exactly as Redis does
//! (the order is visible without ASC/DESC, and with COUNT ANY).

use super::zsets::add_members;
use super::{parse_int, Argv};
use crate::connection::Client;
use crate::db::Access;
use crate::errors::{CmdError, CmdResult};
use crate::notify::ZSET;
use crate::server::Server;
use crate::types::geohash::{self, Extent, Shape};
use crate::types::zset::{parse_score, AddFlags, Limits, Range, ScoreRange, ZSetValue};
use crate::types::{CompactBytes, Value};

/// A unit's size in metres, or None for an unknown unit (any case).
fn unit_to_m(arg: &[u8]) -> Option<f64> {
    [
        (&b"m"[..], 1.0),
        (b"km", 1000.0),
        (b"ft", 0.3048),
        (b"mi", 1609.34),
    ]
    .iter()
    .find(|(name, _)| arg.eq_ignore_ascii_case(name))
    .map(|&(_, m)| m)
}

fn parse_unit(arg: &[u8]) -> Result<f64, CmdError> {
    unit_to_m(arg).ok_or(CmdError::GeoUnit)
}

/// A longitude, latitude argument pair: each must be a float, then the
/// pair must be inside the indexed square.
fn parse_lonlat(lon: &[u8], lat: &[u8]) -> Result<(f64, f64), CmdError> {
    let lon = parse_score(lon).ok_or(CmdError::NotFloat)?;
    let lat = parse_score(lat).ok_or(CmdError::NotFloat)?;
    if !geohash::valid(lon, lat) {
        return Err(CmdError::GeoInvalidPair(lon, lat));
    }
    Ok((lon, lat))
}

/// A radius and its unit: `need numeric radius`, negative, then the unit.
fn parse_radius(value: &[u8], unit: &[u8]) -> Result<Shape, CmdError> {
    let r = parse_score(value).ok_or(CmdError::GeoNeedNumeric("radius"))?;
    if r < 0.0 {
        return Err(CmdError::GeoNegativeRadius);
    }
    Ok(Shape {
        extent: Extent::Radius(r),
        to_m: parse_unit(unit)?,
    })
}

/// A box's width, height and unit.
fn parse_box(width: &[u8], height: &[u8], unit: &[u8]) -> Result<Shape, CmdError> {
    let width = parse_score(width).ok_or(CmdError::GeoNeedNumeric("width"))?;
    let height = parse_score(height).ok_or(CmdError::GeoNeedNumeric("height"))?;
    if width < 0.0 || height < 0.0 {
        return Err(CmdError::GeoNegativeBox);
    }
    Ok(Shape {
        extent: Extent::Box { width, height },
        to_m: parse_unit(unit)?,
    })
}

/// The zset thresholds from the configuration.
fn limits(srv: &Server) -> Limits {
    let clamp = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
    Limits {
        max_entries: clamp(srv.config.zset_max_listpack_entries),
        max_value: clamp(srv.config.zset_max_listpack_value),
    }
}

// ---------------------------------------------------------------------------
// GEOADD

/// `GEOADD key [NX|XX] [CH] lon lat member [lon lat member ...]`: ZADD
/// with the cells' scores. Every triple is checked before anything is
/// added.
pub fn geoadd(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let key = &argv[1];
    let (mut nx, mut xx, mut ch) = (false, false, false);
    let mut idx = 2;
    while idx < argv.len() {
        if argv.is(idx, "nx") {
            nx = true;
        } else if argv.is(idx, "xx") {
            xx = true;
        } else if argv.is(idx, "ch") {
            ch = true;
        } else {
            break;
        }
        idx += 1;
    }
    let left = argv.len() - idx;
    if (xx && nx) || left == 0 || !left.is_multiple_of(3) {
        return Err(CmdError::Syntax);
    }
    let mut items = Vec::with_capacity(left / 3);
    for t in (idx..argv.len()).step_by(3) {
        let (lon, lat) = parse_lonlat(&argv[t], &argv[t + 1])?;
        // parse_lonlat checked the range, so the cell exists.
        let score = geohash::score_of(lon, lat).ok_or(CmdError::GeoInvalidPair(lon, lat))?;
        items.push((score, &argv[t + 2]));
    }
    let flags = AddFlags {
        nx,
        xx,
        ..AddFlags::default()
    };
    let db = c.db;
    let dirty_before = srv.ks.dirty;
    let n = add_members(srv, db, key, flags, &items)?;
    if srv.ks.changed_since(dirty_before) {
        propagate_as_zadd(srv, key, nx, xx, ch, &items);
    }
    let reply = n.map_or(0, |n| if ch { n.added + n.updated } else { n.added });
    c.reply().int(reply);
    Ok(())
}

/// Redis runs GEOADD as the ZADD it rewrites it to, and that ZADD is what
/// reaches the AOF and replicas: `zadd key [nx|xx] [ch] score member ...`
/// with integer scores. We propagate the same command.
fn propagate_as_zadd(
    srv: &mut Server,
    key: &[u8],
    nx: bool,
    xx: bool,
    ch: bool,
    items: &[(f64, &[u8])],
) {
    if !srv.prop.enabled {
        return;
    }
    // Scores are integers below 2^54, exact as u64.
    let scores: Vec<String> = items.iter().map(|(s, _)| (*s as u64).to_string()).collect();
    let mut args: Vec<&[u8]> = Vec::with_capacity(5 + items.len() * 2);
    args.push(b"zadd");
    args.push(key);
    if nx {
        args.push(b"nx");
    }
    if xx {
        args.push(b"xx");
    }
    if ch {
        args.push(b"ch");
    }
    for (text, (_, member)) in scores.iter().zip(items) {
        args.push(text.as_bytes());
        args.push(member);
    }
    srv.propagate_replace(&args);
}

// ---------------------------------------------------------------------------
// GEOPOS, GEODIST, GEOHASH

pub fn geopos(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let zset: Option<&mut ZSetValue> = srv.ks.lookup_typed(c.db, &argv[1], Access::Read)?;
    let mut w = c.reply();
    w.array(argv.len() - 2);
    for member in argv.iter().skip(2) {
        match zset.as_ref().and_then(|z| z.score(member)) {
            Some(score) => {
                let (lon, lat) = geohash::score_to_lonlat(score);
                w.array(2);
                w.double_text(geohash::human_coordinate(lon).as_bytes());
                w.double_text(geohash::human_coordinate(lat).as_bytes());
            }
            None => w.null_array(),
        }
    }
    Ok(())
}

/// `GEODIST key m1 m2 [unit]`: the unit is checked before the key.
pub fn geodist(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let to_m = match argv.len() {
        5 => parse_unit(&argv[4])?,
        4 => 1.0,
        _ => return Err(CmdError::Syntax),
    };
    let zset: Option<&mut ZSetValue> = srv.ks.lookup_typed(c.db, &argv[1], Access::Read)?;
    let scores = zset.and_then(|z| Some((z.score(&argv[2])?, z.score(&argv[3])?)));
    let mut w = c.reply();
    match scores {
        Some((a, b)) => {
            let (lon1, lat1) = geohash::score_to_lonlat(a);
            let (lon2, lat2) = geohash::score_to_lonlat(b);
            let d = geohash::distance(lon1, lat1, lon2, lat2) / to_m;
            w.bulk(geohash::format_distance(d).as_bytes());
        }
        None => w.null(),
    }
    Ok(())
}

pub fn geohash_cmd(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let zset: Option<&mut ZSetValue> = srv.ks.lookup_typed(c.db, &argv[1], Access::Read)?;
    let mut w = c.reply();
    w.array(argv.len() - 2);
    for member in argv.iter().skip(2) {
        match zset.as_ref().and_then(|z| z.score(member)) {
            Some(score) => {
                let (lon, lat) = geohash::score_to_lonlat(score);
                w.bulk(&geohash::hash_string(lon, lat));
            }
            None => w.null(),
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The searches

/// Which command form is running: where its fixed arguments end and what
/// its options may be.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    /// GEORADIUS[_RO] key lon lat radius unit
    Radius,
    /// GEORADIUSBYMEMBER[_RO] key member radius unit
    RadiusByMember,
    /// GEOSEARCH key ...
    Search,
    /// GEOSEARCHSTORE dst key ...
    SearchStore,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Order {
    Unsorted,
    Asc,
    Desc,
}

/// One point found by a search.
struct Found {
    member: CompactBytes,
    score: f64,
    /// From the centre, in metres.
    dist_m: f64,
    lon: f64,
    lat: f64,
}

pub fn georadius(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    search(srv, c, argv, Form::Radius, false)
}

pub fn georadius_ro(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    search(srv, c, argv, Form::Radius, true)
}

pub fn georadiusbymember(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    search(srv, c, argv, Form::RadiusByMember, false)
}

pub fn georadiusbymember_ro(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    search(srv, c, argv, Form::RadiusByMember, true)
}

pub fn geosearch(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    search(srv, c, argv, Form::Search, true)
}

pub fn geosearchstore(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    search(srv, c, argv, Form::SearchStore, false)
}

/// Where GEORADIUS / GEORADIUSBYMEMBER's STORE and STOREDIST destinations
/// are, for COMMAND GETKEYS and the ACL, as Redis 7.0's key specs find
/// them: the first `STORE` (then the first `STOREDIST`) from the first
/// optional argument on, the key being the argument after it (a keyword
/// in last position names nothing).
pub fn store_key_positions(name: &str, argv: &Argv) -> [Option<usize>; 2] {
    let from = match name {
        "georadius" => 6,
        "georadiusbymember" => 5,
        _ => return [None, None],
    };
    let find = |word: &str| {
        (from..argv.len().saturating_sub(1))
            .find(|&i| argv.is(i, word))
            .map(|i| i + 1)
    };
    [find("store"), find("storedist")]
}

fn search(srv: &mut Server, c: &mut Client, argv: &Argv, form: Form, no_store: bool) -> CmdResult {
    let db = c.db;
    let src = if form == Form::SearchStore {
        &argv[2]
    } else {
        &argv[1]
    };
    // The source's type is checked before any argument.
    let exists = {
        let zset: Option<&mut ZSetValue> = srv.ks.lookup_typed(db, src, Access::Read)?;
        zset.is_some()
    };
    let member_score = |srv: &mut Server, member: &[u8]| -> Result<(f64, f64), CmdError> {
        let zset: Option<&mut ZSetValue> = srv.ks.lookup_typed(db, src, Access::NoTouch)?;
        let score = zset
            .and_then(|z| z.score(member))
            .ok_or(CmdError::GeoUnknownMember)?;
        Ok(geohash::score_to_lonlat(score))
    };

    let mut centre: Option<(f64, f64)> = None;
    let mut shape: Option<Shape> = None;
    let base = match form {
        Form::Radius => {
            centre = Some(parse_lonlat(&argv[2], &argv[3])?);
            shape = Some(parse_radius(&argv[4], &argv[5])?);
            6
        }
        // Without a source the member cannot be found; Redis then skips
        // the radius too and only parses the options.
        Form::RadiusByMember if !exists => 5,
        Form::RadiusByMember => {
            centre = Some(member_score(srv, &argv[2])?);
            shape = Some(parse_radius(&argv[3], &argv[4])?);
            5
        }
        Form::Search => 2,
        Form::SearchStore => 3,
    };
    let geosearch = matches!(form, Form::Search | Form::SearchStore);

    let (mut withdist, mut withhash, mut withcoord, mut any) = (false, false, false, false);
    let mut order = Order::Unsorted;
    let mut count: i64 = 0;
    let mut store: Option<&[u8]> = if form == Form::SearchStore {
        Some(&argv[1])
    } else {
        None
    };
    let mut storedist = false;
    let (mut frommember, mut fromlonlat, mut byradius, mut bybox) = (false, false, false, false);
    let mut i = base;
    while i < argv.len() {
        let left = argv.len() - i - 1;
        if argv.is(i, "withdist") {
            withdist = true;
        } else if argv.is(i, "withhash") {
            withhash = true;
        } else if argv.is(i, "withcoord") {
            withcoord = true;
        } else if argv.is(i, "any") {
            any = true;
        } else if argv.is(i, "asc") {
            order = Order::Asc;
        } else if argv.is(i, "desc") {
            order = Order::Desc;
        } else if argv.is(i, "count") && left >= 1 {
            count = parse_int(&argv[i + 1])?;
            if count <= 0 {
                return Err(CmdError::GeoCountNotPositive);
            }
            i += 1;
        } else if (argv.is(i, "store") || argv.is(i, "storedist"))
            && left >= 1
            && !no_store
            && !geosearch
        {
            store = Some(&argv[i + 1]);
            storedist = argv.is(i, "storedist");
            i += 1;
        } else if argv.is(i, "storedist") && form == Form::SearchStore {
            storedist = true;
        } else if argv.is(i, "frommember") && left >= 1 && geosearch && !fromlonlat {
            if exists {
                centre = Some(member_score(srv, &argv[i + 1])?);
            }
            frommember = true;
            i += 1;
        } else if argv.is(i, "fromlonlat") && left >= 2 && geosearch && !frommember {
            centre = Some(parse_lonlat(&argv[i + 1], &argv[i + 2])?);
            fromlonlat = true;
            i += 2;
        } else if argv.is(i, "byradius") && left >= 2 && geosearch && !bybox {
            shape = Some(parse_radius(&argv[i + 1], &argv[i + 2])?);
            byradius = true;
            i += 2;
        } else if argv.is(i, "bybox") && left >= 3 && geosearch && !byradius {
            shape = Some(parse_box(&argv[i + 1], &argv[i + 2], &argv[i + 3])?);
            bybox = true;
            i += 3;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }

    if store.is_some() && (withdist || withhash || withcoord) {
        let form_name = if form == Form::SearchStore {
            "GEOSEARCHSTORE"
        } else {
            "STORE option in GEORADIUS"
        };
        return Err(CmdError::GeoStoreWithReplyOptions(form_name));
    }
    // Redis names the command as the client typed it.
    let typed = || String::from_utf8_lossy(&argv[0]).into_owned();
    if geosearch && !(frommember || fromlonlat) {
        return Err(CmdError::GeoExactlyOne("FROMMEMBER or FROMLONLAT", typed()));
    }
    if geosearch && !(byradius || bybox) {
        return Err(CmdError::GeoExactlyOne("BYRADIUS and BYBOX", typed()));
    }
    if any && count == 0 {
        return Err(CmdError::GeoAnyWithoutCount);
    }

    let (Some((lon, lat)), Some(shape), true) = (centre, shape, exists) else {
        // A missing source: an empty reply, or an emptied destination.
        return match store {
            Some(dst) => {
                if super::store_result(srv, db, dst, None, ZSET, "") {
                    srv.ks.dirty += 1;
                }
                c.reply().int(0);
                Ok(())
            }
            None => {
                c.reply().array(0);
                Ok(())
            }
        };
    };
    if count > 0 && order == Order::Unsorted && !any {
        // COUNT without ANY means "the nearest ones".
        order = Order::Asc;
    }
    let limit = if any { count as u64 } else { 0 };
    let mut found = {
        let zset: Option<&mut ZSetValue> = srv.ks.lookup_typed(db, src, Access::NoTouch)?;
        match zset {
            Some(z) => collect(z, lon, lat, shape, limit),
            None => Vec::new(),
        }
    };
    match order {
        // Stable, as glibc's merge-sort qsort: equal distances keep the
        // order the cells were visited in.
        Order::Asc => found.sort_by(|a, b| a.dist_m.total_cmp(&b.dist_m)),
        Order::Desc => found.sort_by(|a, b| b.dist_m.total_cmp(&a.dist_m)),
        Order::Unsorted => {}
    }
    if count > 0 && (count as u64) < found.len() as u64 {
        found.truncate(count as usize);
    }

    match store {
        None => {
            let extras = usize::from(withdist) + usize::from(withhash) + usize::from(withcoord);
            let mut w = c.reply();
            w.array(found.len());
            for f in &found {
                if extras > 0 {
                    w.array(extras + 1);
                }
                w.bulk(f.member.as_bytes());
                if withdist {
                    w.bulk(geohash::format_distance(f.dist_m / shape.to_m).as_bytes());
                }
                if withhash {
                    w.int(f.score as i64);
                }
                if withcoord {
                    w.array(2);
                    w.double_text(geohash::human_coordinate(f.lon).as_bytes());
                    w.double_text(geohash::human_coordinate(f.lat).as_bytes());
                }
            }
        }
        Some(dst) => {
            let n = found.len();
            let mut pairs: Vec<(CompactBytes, f64)> = found
                .into_iter()
                .map(|f| {
                    let score = if storedist {
                        f.dist_m / shape.to_m
                    } else {
                        f.score
                    };
                    (f.member, score)
                })
                .collect();
            // Members are unique within a zset and every cell is visited
            // once, so this removes nothing; it keeps from_pairs' contract
            // whatever happens.
            pairs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            pairs.dedup_by(|a, b| a.0 == b.0);
            let value = ZSetValue::from_pairs(pairs, limits(srv))
                .ok()
                .map(|z| Value::ZSet(Box::new(z)));
            let event = if form == Form::SearchStore {
                "geosearchstore"
            } else {
                "georadiusstore"
            };
            if super::store_result(srv, db, dst, value, ZSET, event) {
                // As Redis: one change per stored member (1 for a delete).
                srv.ks.dirty += n.max(1) as u64;
            }
            c.reply().int(n as i64);
        }
    }
    Ok(())
}

/// The points of `zset` inside `shape` around (lon, lat): the centre cell
/// and its neighbours in visiting order, each cell's points in score
/// order. With `limit` (COUNT ANY) the search stops once that many are
/// found.
fn collect(zset: &ZSetValue, lon: f64, lat: f64, shape: Shape, limit: u64) -> Vec<Found> {
    let cells = geohash::search_cells(lon, lat, shape);
    let mut found: Vec<Found> = Vec::new();
    // Redis skips a cell equal to the one visited just before it (huge
    // radii make neighbours coincide), but never compares with the
    // centre: `last` stays 0 until a neighbour has been visited.
    let mut last = 0;
    for (idx, cell) in cells.iter().enumerate() {
        let Some(cell) = cell else { continue };
        if last != 0 && cells[last] == Some(*cell) {
            continue;
        }
        if limit > 0 && found.len() as u64 >= limit {
            break;
        }
        let (min, max) = geohash::score_range(*cell);
        let range = Range::Score(ScoreRange {
            min,
            max,
            min_exclusive: false,
            max_exclusive: true,
        });
        if let Some(start) = zset.first_in(&range) {
            for (member, score) in zset.iter_at(start, false) {
                if !range.lte_max(member, score) {
                    break;
                }
                let (plon, plat) = geohash::score_to_lonlat(score);
                if let Some(dist_m) = shape.contains(lon, lat, plon, plat) {
                    found.push(Found {
                        member: CompactBytes::new(member),
                        score,
                        dist_m,
                        lon: plon,
                        lat: plat,
                    });
                    if limit > 0 && found.len() as u64 >= limit {
                        break;
                    }
                }
            }
        }
        last = idx;
    }
    found
}
