//! Differential tests for the geo commands: every script runs against
//! RedisLite and Debian's redis-server 7.0 and the raw replies must match
//! byte for byte.
//!
//! Covered: GEOADD's scores (read back with ZRANGE WITHSCORES, so they are
//! bit-identical) for ordinary and edge points, GEOPOS / GEODIST / GEOHASH
//! formatting, ZADD'ed scores read as points, every GEOSEARCH /
//! GEOSEARCHSTORE / GEORADIUS* option and error in Redis's order, STORE
//! and STOREDIST destinations, missing keys and wrong types, RESP3 shapes,
//! COMMAND GETKEYS and the ACL for the STORE keys, and a seeded random
//! mix of points and searches (geo bugs hide in edge cells).

use crate::common_rng;
use crate::differential::check;

#[test]
fn geoadd_scores_and_positions_match_redis() {
    check(
        r#"
        GEOADD k 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
        GEOADD k 180 85.05112878 ne -180 -85.05112878 sw 180 -85.05112878 se -180 85.05112878 nw
        GEOADD k 0 0 zero -0 -0 negzero 179.9999999 85.0511287 n2 -179.9999999 -85.0511287 s2
        GEOADD k 0.0000001 0.0000001 tiny 1e-300 -1e-300 tinier 2.35 48.85 Paris -122.4194 37.7749 SF
        GEOADD k 139.6917 35.6895 Tokyo 151.2093 -33.8688 Sydney -58.3816 -34.6037 BA 0 85 top 0 -85 bottom
        GEOADD k 90 0 e90 -90 0 w90 45 45 mid 1.5 1.5 "" 1e2 1E1 exp
        ZRANGE k 0 -1 WITHSCORES
        GEOPOS k Palermo Catania ne sw se nw zero negzero n2 s2 tiny tinier Paris SF nope
        GEOPOS k Tokyo Sydney BA top bottom e90 w90 mid "" exp
        GEOHASH k Palermo Catania ne sw se nw zero negzero n2 s2 tiny tinier Paris SF nope
        GEOHASH k Tokyo Sydney BA top bottom e90 w90 mid "" exp
        GEODIST k Palermo Catania
        GEODIST k Palermo Catania km
        GEODIST k Palermo Catania KM
        GEODIST k Palermo Catania mi
        GEODIST k Palermo Catania FT
        GEODIST k Palermo Catania M
        GEODIST k Palermo Palermo
        GEODIST k ne sw
        GEODIST k nw se
        GEODIST k top bottom
        GEODIST k e90 w90
        GEODIST k Tokyo SF km
        GEODIST k Sydney BA mi
        GEODIST k zero negzero
        GEODIST k Palermo nope
        GEODIST k nope nope2 km
        ZADD odd -1 neg 1e300 big 4503599627370496 two52 9007199254740992 two53 0.5 half inf pinf -inf minf
        GEOPOS odd neg big two52 two53 half pinf minf
        GEOHASH odd neg big two52 two53 half pinf minf
        GEODIST odd neg big
        GEODIST odd half two52 km
        "#,
    );
}

#[test]
fn geoadd_options_and_errors_match_redis() {
    check(
        r#"
        GEOADD k 1 2 a
        GEOADD k 1 2 a 3 4 b
        GEOADD k ch 1 2 a 3 5 b
        GEOADD k nx 5 5 a 6 6 c
        GEOADD k xx 5 5 a 7 7 d
        GEOADD k xx ch 5 5 a 7 7 d
        GEOADD k CH NX XX 1 1 a
        GEOADD k xx nx 1 1 a
        GEOADD k nx ch 8 8 a 9 9 e
        GEOADD k gt 1 1 a
        GEOADD k incr 1 1 a
        ZRANGE k 0 -1 WITHSCORES
        GEOADD missing xx 1 1 a
        EXISTS missing
        GEOADD k 1 2
        GEOADD k
        GEOADD k ch 1 2
        GEOADD k 1 2 a 3
        GEOADD k 1 2 a 3 4
        GEOADD k 200 100 x
        GEOADD k 180.0000001 0 x
        GEOADD k -180.0000001 0 x
        GEOADD k 0 85.05112879 x
        GEOADD k 0 -85.05112879 x
        GEOADD k 0.0078125 100 x
        GEOADD k inf 0 x
        GEOADD k -inf 0 x
        GEOADD k 0 inf x
        GEOADD k nan 0 x
        GEOADD k abc 0 x
        GEOADD k 0 abc x
        GEOADD k 1 1 ok 200 0 bad
        GEOADD k 1 1 ok abc 0 bad
        GEOADD k 200 0 bad abc 0 bad
        GEOADD k " 1" 1 x
        GEOADD k 1e400 1 x
        GEOADD k 0x10 1 hex
        EXISTS ok
        ZRANGE k 0 -1 WITHSCORES
        SET str v
        GEOADD str 1 1 a
        GEOPOS str a
        GEOHASH str a
        GEODIST str a b
        GEODIST str a b parsec
        GEOPOS nokey a b
        GEOHASH nokey a b
        GEODIST nokey a b
        GEODIST nokey a b km
        GEODIST k a b parsec
        GEODIST k a b km extra
        GEODIST k a
        GEOPOS k
        GEOHASH k
        GEOPOS str
        GEOHASH str
        "#,
    );
}

#[test]
fn searches_match_redis() {
    check(
        r#"
        GEOADD k 13.361389 38.115556 Palermo 15.087269 37.502669 Catania 2.35 48.85 Paris 0 0 null
        GEOADD k 12.758489 38.788135 edge1 13.1 38.3 a1 13.2 38.2 a2 14 37.8 a3 14.5 37.6 a4 16 38 a5
        GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 200 km
        GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 200 km ASC
        GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 200 km DESC
        GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 200 km ASC WITHCOORD WITHDIST WITHHASH
        GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 200 km WITHHASH WITHCOORD
        GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 200 km WITHDIST
        GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 200000 m WITHDIST
        GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 124.274 mi WITHDIST ASC
        GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 656168 ft WITHDIST DESC
        GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 200 KM COUNT 1
        GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 200 km COUNT 2 DESC
        GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 200 km COUNT 1 ANY
        GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 200 km COUNT 3 ANY
        GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 200 km COUNT 3 ANY DESC
        GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 200 km COUNT 100 ANY ASC
        GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 200 km COUNT 9223372036854775807
        GEOSEARCH k FROMMEMBER Palermo BYRADIUS 100 km WITHDIST
        GEOSEARCH k FROMMEMBER Palermo BYRADIUS 0 m WITHDIST
        GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 0 m
        GEOSEARCH k FROMMEMBER Palermo BYBOX 400 400 km WITHDIST WITHCOORD
        GEOSEARCH k FROMMEMBER Palermo BYBOX 100 10 km WITHDIST
        GEOSEARCH k FROMMEMBER Palermo BYBOX 10 100 km WITHDIST
        GEOSEARCH k FROMMEMBER Palermo BYBOX 0 0 m WITHDIST
        GEOSEARCH k FROMLONLAT 15 37 BYBOX 400 400 km ASC COUNT 2
        GEOSEARCH k FROMLONLAT 15 37 BYBOX 2000 2000 mi DESC WITHHASH
        GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 10000 km
        GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 1e10 m
        GEOSEARCH k FROMLONLAT 15 37 BYRADIUS inf m
        GEOSEARCH k FROMLONLAT 15 37 BYBOX inf inf m
        GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 1e-300 m
        GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 5000 km COUNT 2 ANY
        GEOSEARCH k FROMMEMBER Palermo BYBOX 1 1 m FROMMEMBER Catania
        GEOSEARCH k FROMLONLAT 1 1 BYRADIUS 1 m FROMLONLAT 15 37 BYRADIUS 200 km
        GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 200 km COUNT 5 COUNT 1
        GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 200 km ASC DESC
        GEORADIUS k 15 37 200 km
        GEORADIUS k 15 37 200 km WITHDIST WITHCOORD WITHHASH ASC
        GEORADIUS k 15 37 200 km COUNT 2 ANY
        GEORADIUS_RO k 15 37 200 km WITHDIST DESC COUNT 3
        GEORADIUSBYMEMBER k Palermo 100 km WITHDIST
        GEORADIUSBYMEMBER k Palermo 100 km WITHDIST COUNT 2
        GEORADIUSBYMEMBER_RO k Catania 300 km ASC WITHCOORD
        GEORADIUS k 0 0 1 m WITHDIST
        GEORADIUS k 0.00001 0.00001 10 m WITHDIST
        GEORADIUS k 0 0 5000 km WITHDIST
        "#,
    );
}

#[test]
fn search_errors_match_redis() {
    check(
        r#"
        GEOADD k 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
        SET str v
        GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 200 km ANY
        GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 200 km COUNT 0
        GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 200 km COUNT -1
        GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 200 km COUNT x
        GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 200 km COUNT 9223372036854775808
        GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 200 km COUNT
        GEOSEARCH k FROMLONLAT 15 37 BYRADIUS -1 km
        GEOSEARCH k FROMLONLAT 15 37 BYRADIUS -1 parsec
        GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 1 parsec
        GEOSEARCH k FROMLONLAT 15 37 BYRADIUS abc m
        GEOSEARCH k FROMLONLAT 15 37 BYRADIUS nan m
        GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 1e400 m
        GEOSEARCH k FROMLONLAT 15 37 BYBOX 1 -1 km
        GEOSEARCH k FROMLONLAT 15 37 BYBOX -1 1 parsec
        GEOSEARCH k FROMLONLAT 15 37 BYBOX abc 1 m
        GEOSEARCH k FROMLONLAT 15 37 BYBOX 1 abc m
        GEOSEARCH k FROMLONLAT 15 37 BYBOX 1 1 mm
        GEOSEARCH k FROMLONLAT 15 abc BYRADIUS 1 m
        GEOSEARCH k FROMLONLAT 200 37 BYRADIUS 1 m
        GEOSEARCH k FROMLONLAT 200 1 BYBOX x 1 m
        GEOSEARCH k BYBOX x 1 m FROMLONLAT 200 1
        GEOSEARCH k FROMMEMBER nope BYBOX 400 400 km bad
        GEOSEARCH k BYBOX 400 400 km FROMMEMBER nope bad
        GEOSEARCH k FROMMEMBER Palermo FROMLONLAT 1 1 BYRADIUS 1 m
        GEOSEARCH k FROMLONLAT 1 1 FROMMEMBER Palermo BYRADIUS 1 m
        GEOSEARCH k FROMMEMBER Palermo BYRADIUS 1 m BYBOX 1 1 m
        GEOSEARCH k FROMMEMBER Palermo BYBOX 1 1 m BYRADIUS 1 m
        GEOSEARCH k FROMMEMBER Palermo BYRADIUS 1 m STORE x
        GEOSEARCH k FROMMEMBER Palermo BYRADIUS 1 m STOREDIST
        GEOSEARCH k FROMMEMBER Palermo BYRADIUS 1 m WITHDIST bad
        GEOSEARCH k FROMMEMBER Palermo BYRADIUS 1 m FROMMEMBER
        GEOSEARCH k FROMMEMBER Palermo BYRADIUS 1
        GEOSEARCH k BYRADIUS 1 m ASC ASC
        GEOSEARCH k FROMLONLAT 1 1 ASC ASC
        geoSearch k FROMLONLAT 1 1 ASC ASC
        GeOsEaRcH k BYBOX 1 1 m ASC
        GEOSEARCHSTORE d k FROMLONLAT 1 1 ASC ASC
        GEOSEARCHSTORE d k BYRADIUS 1 m ASC ASC
        GEOSEARCHSTORE d k FROMMEMBER Palermo BYRADIUS 1 m WITHDIST
        GEOSEARCHSTORE d k FROMMEMBER Palermo BYRADIUS 1 m WITHHASH
        GEOSEARCHSTORE d k FROMMEMBER Palermo BYRADIUS 1 m WITHCOORD
        GEOSEARCHSTORE d k FROMMEMBER Palermo BYRADIUS 1 m STORE x
        GEOSEARCH k FROMMEMBER Palermo
        GEOSEARCHSTORE d k FROMMEMBER Palermo
        GEOSEARCH str FROMMEMBER a BYRADIUS 1 m
        GEOSEARCH str FROMMEMBER a BYRADIUS 1 m bad
        GEOSEARCHSTORE d str FROMMEMBER a BYRADIUS 1 m
        GEORADIUS str 1 1 1 m
        GEORADIUS str 200 1 1 m
        GEORADIUSBYMEMBER str a 1 m
        GEORADIUS k 15 37 200 km ANY
        GEORADIUS k 15 37 200 km COUNT 0
        GEORADIUS k 15 37 200 km STORE
        GEORADIUS k 15 37 200 km STOREDIST
        GEORADIUS k 15 37 200 km STORE d WITHDIST
        GEORADIUS k 15 37 200 km WITHHASH STORE d
        GEORADIUS k 15 37 200 km WITHCOORD STOREDIST d
        GEORADIUS_RO k 15 37 200 km STORE d
        GEORADIUSBYMEMBER_RO k Palermo 200 km STOREDIST d
        GEORADIUS k 15 37 200 km BYBOX 1 1 m
        GEORADIUS k 15 37 200 km FROMMEMBER Palermo
        GEORADIUS k 200 37 200 km
        GEORADIUS k x 37 200 km
        GEORADIUS k 15 x 200 km
        GEORADIUS k 15 37 x km
        GEORADIUS k 15 37 -1 km
        GEORADIUS k 15 37 200 kk
        GEORADIUS k 15 37 200
        GEORADIUSBYMEMBER k nope 200 km
        GEORADIUSBYMEMBER k Palermo abc km
        GEORADIUSBYMEMBER k Palermo 200 parsec
        GEORADIUSBYMEMBER k Palermo 200
        EXISTS d x
        "#,
    );
}

#[test]
fn missing_keys_and_stores_match_redis() {
    check(
        r#"
        GEOSEARCH nokey FROMMEMBER x BYBOX 1 1 m
        GEOSEARCH nokey FROMMEMBER x BYBOX 1 1 m WITHDIST
        GEOSEARCH nokey FROMLONLAT 200 1 BYBOX 1 1 m
        GEOSEARCH nokey FROMMEMBER x BYRADIUS 1 m ANY
        GEOSEARCH nokey FROMMEMBER x BYRADIUS 1 m bad
        GEOSEARCH nokey FROMMEMBER x BYRADIUS abc m
        GEORADIUS nokey 1 1 1 m
        GEORADIUS nokey 1 1 abc m
        GEORADIUS nokey 200 1 1 m
        GEORADIUS nokey 1 1 1 m bad
        GEORADIUSBYMEMBER nokey x abc m
        GEORADIUSBYMEMBER nokey x 1 parsec
        GEORADIUSBYMEMBER nokey x 1 m WITHDIST ANY
        GEORADIUSBYMEMBER nokey x 1 m bad
        SET d old
        GEOSEARCHSTORE d nokey FROMMEMBER x BYRADIUS 1 m
        EXISTS d
        SET d old
        GEORADIUSBYMEMBER nokey x 1 m STORE d
        EXISTS d
        SET d old
        GEORADIUS nokey 1 1 1 m STOREDIST d
        EXISTS d
        GEORADIUS nokey 1 1 1 m STOREDIST d
        GEOADD k 13.361389 38.115556 Palermo 15.087269 37.502669 Catania 2.35 48.85 Paris
        SET d old
        GEOSEARCHSTORE d k FROMLONLAT 15 37 BYRADIUS 200 km
        TYPE d
        ZRANGE d 0 -1 WITHSCORES
        OBJECT ENCODING d
        GEOSEARCHSTORE d k FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST
        ZRANGE d 0 -1 WITHSCORES
        GEOSEARCHSTORE d k FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST COUNT 1
        ZRANGE d 0 -1 WITHSCORES
        GEOSEARCHSTORE d k FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST COUNT 1 DESC
        ZRANGE d 0 -1 WITHSCORES
        GEOSEARCHSTORE d k FROMLONLAT 15 37 BYBOX 2000 2000 km STOREDIST
        ZRANGE d 0 -1 WITHSCORES
        GEOSEARCHSTORE d k FROMLONLAT 0 0 BYRADIUS 1 m
        EXISTS d
        GEORADIUS k 15 37 200 km STORE d1
        ZRANGE d1 0 -1 WITHSCORES
        GEORADIUS k 15 37 200 km STOREDIST d2
        ZRANGE d2 0 -1 WITHSCORES
        GEORADIUS k 15 37 200 mi STORE d3 STOREDIST d4
        EXISTS d3
        ZRANGE d4 0 -1 WITHSCORES
        GEORADIUS k 15 37 200 mi STOREDIST d5 STORE d6
        EXISTS d5
        ZRANGE d6 0 -1 WITHSCORES
        GEORADIUSBYMEMBER k Palermo 2000 km STORE d7 COUNT 2 DESC
        ZRANGE d7 0 -1 WITHSCORES
        GEORADIUSBYMEMBER k Palermo 2000 ft STOREDIST d7
        ZRANGE d7 0 -1 WITHSCORES
        GEORADIUSBYMEMBER k Palermo 1 m STOREDIST d7
        ZRANGE d7 0 -1 WITHSCORES
        GEORADIUS k 0 0 1 m STORE d7
        EXISTS d7
        GEOSEARCHSTORE k k FROMMEMBER Palermo BYRADIUS 200 km
        ZRANGE k 0 -1 WITHSCORES
        COMMAND GETKEYS GEORADIUS k 1 2 3 m STORE a STOREDIST b
        COMMAND GETKEYS GEORADIUS k 1 2 3 m store a store b
        COMMAND GETKEYS GEORADIUS k 1 2 3 m
        COMMAND GETKEYS GEORADIUS k 1 2 3 m COUNT 1 STORE
        COMMAND GETKEYS GEORADIUSBYMEMBER k m 3 m STOREDIST a
        COMMAND GETKEYS GEORADIUS_RO k 1 2 3 m STORE a
        COMMAND GETKEYS GEOSEARCHSTORE d k FROMMEMBER m BYRADIUS 1 m
        COMMAND GETKEYS GEOSEARCH k FROMMEMBER m BYRADIUS 1 m
        COMMAND GETKEYS GEOADD k 1 1 m
        "#,
    );
}

#[test]
fn stored_encodings_follow_the_thresholds_like_redis() {
    let mut script = String::from(
        "CONFIG SET zset-max-listpack-entries 4\nCONFIG SET zset-max-listpack-value 8\n",
    );
    for i in 0..6 {
        script.push_str(&format!("GEOADD k {}.5 {}.25 m{i}\n", i, i));
    }
    script.push_str("GEOADD k 3.1 3.1 a-very-long-member-name\n");
    for (count, extra) in [(3, ""), (4, ""), (5, ""), (7, ""), (3, "DESC")] {
        script.push_str(&format!(
            "GEOSEARCHSTORE d k FROMLONLAT 3 3 BYRADIUS 1000 km COUNT {count} {extra}\nOBJECT ENCODING d\nZRANGE d 0 -1 WITHSCORES\n"
        ));
    }
    script.push_str("GEOSEARCHSTORE d k FROMLONLAT 0.5 0.25 BYRADIUS 1 m\nOBJECT ENCODING d\n");
    script.push_str("GEOADD big 1 1 a-very-long-member-name\nOBJECT ENCODING big\n");
    check(&script);
}

#[test]
fn resp3_shapes_match_redis() {
    check(
        r#"
        ~HELLO 3
        GEOADD k 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
        GEOPOS k Palermo nope
        GEOPOS nokey a
        GEOHASH k Palermo nope
        GEODIST k Palermo Catania
        GEODIST k Palermo nope
        GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 200 km ASC WITHCOORD WITHDIST WITHHASH
        GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 200 km ASC
        GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 200 km WITHCOORD
        GEOSEARCH nokey FROMLONLAT 15 37 BYRADIUS 200 km
        GEORADIUS k 15 37 200 km WITHDIST
        GEOSEARCHSTORE d k FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST
        ZRANGE d 0 -1 WITHSCORES
        "#,
    );
}

#[test]
fn acl_store_keys_match_redis() {
    check(
        r#"
        GEOADD src 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
        ACL SETUSER u on nopass ~src ~out* +@all
        ACL SETUSER r on nopass %R~src %W~w* +@all
        AUTH u x
        GEORADIUS src 15 37 200 km STORE out1
        GEORADIUS src 15 37 200 km STORE other
        GEORADIUS src 15 37 200 km STOREDIST other
        GEORADIUS src 15 37 200 km STORE out1 STOREDIST other
        GEORADIUSBYMEMBER src Palermo 200 km STORE other
        GEOSEARCHSTORE other src FROMMEMBER Palermo BYRADIUS 1 m
        GEOSEARCHSTORE out2 src FROMMEMBER Palermo BYRADIUS 1 m
        AUTH r x
        GEORADIUS src 15 37 200 km
        GEORADIUS src 15 37 200 km STORE w1
        GEORADIUS src 15 37 200 km STORE src
        GEOSEARCHSTORE w2 src FROMMEMBER Palermo BYRADIUS 1 m
        GEOSEARCHSTORE src src FROMMEMBER Palermo BYRADIUS 1 m
        GEOADD w3 1 1 a
        GEOADD src 1 1 a
        AUTH default x
        ACL DRYRUN u GEORADIUS src 1 1 1 m STORE nope
        ACL DRYRUN r GEORADIUSBYMEMBER src a 1 m STOREDIST w9
        ACL DRYRUN r GEORADIUSBYMEMBER src a 1 m STOREDIST src
        "#,
    );
}

/// A seeded random mix: clustered and edge points (the antimeridian, the
/// poles' limits, the equator, cell boundaries), then searches of every
/// form with random radii, boxes, units and options, read back in full.
#[test]
fn random_points_and_searches_match_redis() {
    for seed in [1u64, 2, 3, 4, 5, 6] {
        check(&random_script(seed, 120, 150));
    }
}

fn random_script(seed: u64, points: usize, searches: usize) -> String {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut rnd = move || common_rng(&mut state);
    let unit_float = { move |r: u64| (r >> 11) as f64 / (1u64 << 53) as f64 };
    let mut script = String::new();
    // Centres of clusters, some at the edges of the indexed square.
    let centres = [
        (13.36, 38.11),
        (0.0, 0.0),
        (179.9, 10.0),
        (-179.9, -10.0),
        (0.0, 85.0),
        (0.0, -85.0),
        (-45.0, 45.0),
        (90.0, 70.0),
    ];
    let mut members = Vec::new();
    for i in 0..points {
        let (clon, clat) = centres[(rnd() % centres.len() as u64) as usize];
        let spread = [0.001, 0.1, 2.0, 30.0][(rnd() % 4) as usize];
        let lon = (clon + (unit_float(rnd()) - 0.5) * 2.0 * spread).clamp(-180.0, 180.0);
        let lat =
            (clat + (unit_float(rnd()) - 0.5) * 2.0 * spread).clamp(-85.05112878, 85.05112878);
        // Some points exactly on the edges of the indexed square.
        let (lon, lat) = match rnd() % 12 {
            0 => ([180.0, -180.0][(rnd() % 2) as usize], lat),
            1 => (lon, [85.05112878, -85.05112878][(rnd() % 2) as usize]),
            _ => (lon, lat),
        };
        let name = format!("p{i}");
        script.push_str(&format!("GEOADD g {lon:.7} {lat:.7} {name}\n"));
        members.push(name);
    }
    script.push_str("ZRANGE g 0 -1 WITHSCORES\n");
    let units = ["m", "km", "mi", "ft"];
    for _ in 0..searches {
        let unit = units[(rnd() % 4) as usize];
        let to_m = match unit {
            "m" => 1.0,
            "km" => 1000.0,
            "mi" => 1609.34,
            _ => 0.3048,
        };
        let metres = [50.0, 5_000.0, 200_000.0, 2_000_000.0, 8_000_000.0][(rnd() % 5) as usize]
            * (0.2 + unit_float(rnd()));
        let size = format!("{:.3}", metres / to_m);
        let size2 = format!("{:.3}", metres / to_m * (0.2 + 2.0 * unit_float(rnd())));
        let from = if rnd() % 3 == 0 {
            format!(
                "FROMMEMBER {}",
                members[(rnd() % members.len() as u64) as usize]
            )
        } else {
            let (clon, clat) = centres[(rnd() % centres.len() as u64) as usize];
            let lon = (clon + (unit_float(rnd()) - 0.5) * 4.0).clamp(-180.0, 180.0);
            let lat = (clat + (unit_float(rnd()) - 0.5) * 4.0).clamp(-85.05, 85.05);
            let lon = if rnd() % 8 == 0 { 180.0 } else { lon };
            let lat = if rnd() % 8 == 0 { 85.05112878 } else { lat };
            format!("FROMLONLAT {lon:.8} {lat:.8}")
        };
        let by = if rnd() % 2 == 0 {
            format!("BYRADIUS {size} {unit}")
        } else {
            format!("BYBOX {size} {size2} {unit}")
        };
        let mut opts = String::new();
        match rnd() % 4 {
            0 => opts.push_str(" ASC"),
            1 => opts.push_str(" DESC"),
            _ => {}
        }
        match rnd() % 4 {
            0 => opts.push_str(&format!(" COUNT {}", 1 + rnd() % 10)),
            1 => opts.push_str(&format!(" COUNT {} ANY", 1 + rnd() % 10)),
            _ => {}
        }
        match rnd() % 3 {
            0 => {
                script.push_str(&format!(
                    "GEOSEARCH g {from} {by}{opts} WITHDIST WITHHASH WITHCOORD\n"
                ));
            }
            1 => {
                let dist = if rnd() % 2 == 0 { " STOREDIST" } else { "" };
                script.push_str(&format!("GEOSEARCHSTORE dst g {from} {by}{opts}{dist}\n"));
                script.push_str("ZRANGE dst 0 -1 WITHSCORES\n");
            }
            _ => {
                // The legacy form of the same radius search.
                let centre = from
                    .strip_prefix("FROMLONLAT ")
                    .map(|c| format!("GEORADIUS g {c}"))
                    .unwrap_or_else(|| format!("GEORADIUSBYMEMBER g {}", &from[11..]));
                script.push_str(&format!("{centre} {size} {unit}{opts} WITHDIST\n"));
            }
        }
    }
    script
}

/// COMMAND INFO without its key specs (RedisLite reports none): name,
/// arity, flags (with movablekeys for the STORE forms), key range and
/// categories; COMMAND DOCS's group and since; and ACL CAT geo as a set
/// (redis-server lists it in its hash table's order).
#[test]
fn command_table_rows_match_redis() {
    use crate::common::ServerProc;
    let ours = ServerProc::start(&[]);
    let theirs = ServerProc::start_reference(&[]);
    let (mut o, mut t) = (ours.conn(), theirs.conn());
    for name in [
        "geoadd",
        "geodist",
        "geohash",
        "geopos",
        "georadius",
        "georadius_ro",
        "georadiusbymember",
        "georadiusbymember_ro",
        "geosearch",
        "geosearchstore",
    ] {
        let a = o.cmds(&["COMMAND", "INFO", name]);
        let b = t.cmds(&["COMMAND", "INFO", name]);
        let a = a.split("*0\r\n").next().unwrap_or_default().to_string();
        assert!(a.contains("@geo"), "{a}");
        assert!(b.starts_with(&a), "ours:\n{a}\ntheirs:\n{b}");
        // DOCS: summary, since and group come first in both; ours stops
        // there (so only the map's size line differs).
        let rest = |s: String| s.splitn(5, "\r\n").nth(4).unwrap_or_default().to_string();
        let (da, db) = (
            rest(o.cmds(&["COMMAND", "DOCS", name])),
            rest(t.cmds(&["COMMAND", "DOCS", name])),
        );
        assert!(da.contains("geo"), "{da}");
        assert!(db.starts_with(&da), "ours:\n{da}\ntheirs:\n{db}");
    }
    let sorted = |s: String| {
        let mut v: Vec<String> = s
            .lines()
            .filter(|l| !l.starts_with(['*', '$']))
            .map(str::to_string)
            .collect();
        v.sort();
        v
    };
    let (a, b) = (
        sorted(o.cmds(&["ACL", "CAT", "geo"])),
        sorted(t.cmds(&["ACL", "CAT", "geo"])),
    );
    assert_eq!(a.len(), 10, "{a:?}");
    assert_eq!(a, b);
}
