//! Differential tests for the sorted set commands: every script runs
//! against RedisLite and Debian's redis-server 7.0 and the raw replies must
//! match byte for byte (lines starting with "~" are sent but not compared).
//!
//! Covered: every ZSET command with its options and error paths (wrong
//! type, arity, bad numbers, syntax, incompatible options), score parsing
//! and %.17g formatting, RESP3 shapes, both encodings at and past the
//! thresholds, empty-key deletion, and a seeded random mix of commands on
//! small and large sets. Random replies (ZRANDMEMBER, ZSCAN of a skiplist)
//! are checked for their properties in `zsets.rs` instead.

use crate::differential::check;

#[test]
fn zadd_and_zrange_options_match_redis() {
    check(
        r#"
        FLUSHALL
        SET str x
        ZADD str 1 a
        ZADD str nan a
        ZADD str nx xx 1 a
        ZADD k nx xx 1 a
        ZADD k nx gt 1 a
        ZADD k gt lt 1 a
        ZADD k xx gt 1 a
        ZADD k incr 1 a 2 b
        ZADD k 1
        ZADD k 1 a 2
        ZADD k xx 1 a
        EXISTS k
        ZADD k ch 1 a 2 b
        ZADD k ch 1 a 3 b 4 c
        ZADD k gt ch 0 a 5 b
        ZADD k lt ch 0 a 5 b
        ZADD k incr 1 nope
        ZADD k xx incr 1 nope
        ZADD k nx incr 1 a
        ZADD k gt incr -1 a
        ZADD k gt incr 1 a
        ZADD k nx incr 1 zz
        ZRANGE k 0 -1 WITHSCORES
        ZINCRBY k abc a
        ZINCRBY str 1 a
        ZINCRBY k nx a
        ZRANGE k 0 -1 LIMIT 0 1
        ZRANGE k 0 -1 LIMIT 0 -1
        ZRANGE k 0 -1 BYLEX WITHSCORES
        ZRANGE k (a + BYLEX WITHSCORES
        ZRANGE k 0 -1 LIMIT 0
        ZRANGE k 0 -1 LIMIT a b
        ZRANGE k 0 -1 BYSCORE BYLEX
        ZRANGE k 0 -1 REV REV
        ZRANGE k 0 -1 WITHSCORES WITHSCORES
        ZRANGE k 0 -1 BYSCORE LIMIT 0 1 LIMIT 1 1
        ZRANGE k a b
        ZRANGE k a b BYSCORE
        ZRANGE k a b BYLEX
        ZRANGE k [a [b BYSCORE
        ZRANGE str 0 -1
        ZRANGE str a b
        ZRANGE nokey a b
        ZRANGE nokey 0 1
        ZRANGE nokey a b BYSCORE
        ZRANGE k 0 -1 BYSCORE LIMIT 0 1 LIMIT x 1
        ZRANGE k +inf -inf BYSCORE REV WITHSCORES LIMIT 1 -5
        ZRANGE k +inf -inf BYSCORE REV WITHSCORES LIMIT -1 5
        ZRANGE k -inf +inf BYSCORE LIMIT 0 0
        ZRANGE k -inf +inf BYSCORE LIMIT 2 9223372036854775807
        ZRANGE k -inf +inf BYSCORE REV LIMIT 2 9223372036854775807
        ZRANGE k +inf -inf BYSCORE REV LIMIT 2 9223372036854775807
        ZRANGE k 0 9223372036854775807
        ZRANGE k -9223372036854775808 9223372036854775807
        ZRANGE k 2 -9223372036854775808
        ZRANGE k 0 99999999999999999999
        ZRANGE k 1 3 REV WITHSCORES
        ZRANGE k -2 -1 REV
        ZREVRANGE k 0 -1 WITHSCORES
        ZREVRANGE k 0 -1 BYSCORE
        ZREVRANGE k 0 -1 REV
        ZRANGEBYSCORE k -inf +inf REV
        ZRANGEBYSCORE k -inf +inf WITHSCORES LIMIT 1 2
        ZRANGEBYSCORE k (1 5
        ZRANGEBYSCORE k (1 (5
        ZRANGEBYSCORE k 2 2
        ZRANGEBYSCORE k -inf +inf LIMIT 1
        ZRANGEBYLEX k - + WITHSCORES
        ZRANGEBYLEX k - + LIMIT 0 2
        ZRANGEBYLEX k a +
        ZRANGEBYLEX k -a +
        ZREVRANGEBYLEX k + - LIMIT 1 1
        ZREVRANGEBYLEX k + -
        ZREVRANGEBYLEX k [nope (a
        ZRANGEBYLEX k [b [zz
        ZREVRANGEBYSCORE k +inf -inf withscores
        ZREVRANGEBYSCORE k 4 (1 withscores LIMIT 1 10
        ZRANGESTORE dst k 0 -1 WITHSCORES
        ZRANGESTORE dst k 0 -1
        ZRANGE dst 0 -1 WITHSCORES
        ZRANGESTORE dst nokey 0 -1
        EXISTS dst
        ZRANGESTORE dst k 0 -1 BYLEX
        ZRANGESTORE dst str 0 -1
        ZRANGESTORE str k 0 0
        TYPE str
        ZRANGESTORE dst k 5 1 BYSCORE REV LIMIT 1 2
        ZRANGE dst 0 -1 WITHSCORES
        SET str x
        "#,
    );
}

#[test]
fn zset_algebra_matches_redis() {
    check(
        r#"
        FLUSHALL
        SET str x
        ZADD z1 1 a 2 b 3 c
        ZADD z2 10 b 20 c 30 d
        ZUNION 0 z1
        ZUNION -1 z1
        ZUNION x z1
        ZUNION 3 z1 z2
        ZUNION 2 z1 z2 WEIGHTS 1
        ZUNION 2 z1 z2 WEIGHTS 1 x
        ZUNION 2 z1 z2 WEIGHTS 1 nan
        ZUNION 2 z1 z2 AGGREGATE foo
        ZUNION 2 z1 z2 AGGREGATE
        ZUNION 2 z1 str
        ZUNION 2 str z1 WEIGHTS x
        ZUNION 2 z1 z2 WEIGHTS 1 2 AGGREGATE MAX WITHSCORES
        ZUNION 2 z1 z2 WEIGHTS 1 2 AGGREGATE MIN WITHSCORES
        ZUNION 2 z1 z2 WEIGHTS inf -inf WITHSCORES
        ZINTER 2 z1 z2 WEIGHTS inf -inf WITHSCORES
        ZINTER 2 z1 z2 WITHSCORES
        ZINTER 2 z1 z1 WITHSCORES
        ZINTER 2 z1 nokey WITHSCORES
        ZDIFF 2 z1 z2 WITHSCORES
        ZDIFF 2 z1 z2 WEIGHTS 1 2
        ZDIFF 2 z1 z2 AGGREGATE SUM
        ZDIFF 2 z1 z1
        ZUNIONSTORE dst 2 z1 z2 WITHSCORES
        ZUNIONSTORE dst 2 z1 z2
        ZRANGE dst 0 -1 WITHSCORES
        ZUNIONSTORE dst 0 z1
        ZUNIONSTORE dst 2 z1
        ZINTERSTORE dst 2 z1 nokey
        EXISTS dst
        ZDIFFSTORE dst 2 z1 z2
        ZRANGE dst 0 -1 WITHSCORES
        ZINTERCARD 2 z1 z2
        ZINTERCARD 2 z1 z2 LIMIT 1
        ZINTERCARD 2 z1 z2 LIMIT -1
        ZINTERCARD 2 z1 z2 LIMIT x
        ZINTERCARD 0 z1
        ZINTERCARD 3 z1
        ZINTERCARD 2 z1 z2 WITHSCORES
        ZINTERCARD 2 z1 z2 LIMIT 0
        ZINTERCARD 1 str
        ZUNION 2 z1 z2 WITHSCORES extra
        ZINTERCARD -1 z1
        ZINTERCARD x z1
        ZUNIONSTORE dst -1 z1
        ZDIFF 0 z1
        ZUNION 1 z1 WEIGHTS 2 WEIGHTS 3 WITHSCORES
        ZUNION 1 z1 AGGREGATE MIN AGGREGATE max WITHSCORES
        "#,
    );
}

#[test]
fn pops_counts_removals_and_errors_match_redis() {
    check(
        r#"
        FLUSHALL
        SET str x
        ZADD z1 1 a 2 b 3 c 4 d 5 e
        ZPOPMIN z1 1 2
        ZPOPMIN z1 x
        ZPOPMIN str
        ZPOPMIN str 0
        ZPOPMIN nokey -1
        ZPOPMIN z1 -1
        ZPOPMAX z1 2
        ZPOPMIN z1
        ZPOPMIN z1 0
        ZPOPMIN nokey
        ZMPOP 0 z1 MIN
        ZMPOP -1 z1 MIN
        ZMPOP x z1 MIN
        ZMPOP 1 z1
        ZMPOP 2 z1 MIN
        ZMPOP 1 z1 FOO
        ZMPOP 1 z1 MIN COUNT
        ZMPOP 1 z1 MIN COUNT 0
        ZMPOP 1 z1 MIN COUNT -1
        ZMPOP 1 z1 MIN COUNT x
        ZMPOP 1 z1 MIN COUNT 1 COUNT 1
        ZMPOP 1 z1 MIN FOO 1
        ZMPOP 2 nokey str MIN
        ZMPOP 2 nokey z1 MIN COUNT 10
        EXISTS z1
        ZMPOP 9223372036854775807 z1 MIN
        ZMPOP 9223372036854775806 z1 MIN
        ZMPOP 1 nokey MAX
        ZADD z1 1 a 2 b 3 c 4 d 5 e
        ZMPOP 2 z1 str max count 2
        ZREMRANGEBYRANK z1 x 1
        ZREMRANGEBYRANK z1 3 1
        ZREMRANGEBYRANK str 0 1
        ZREMRANGEBYRANK nokey 0 1
        ZREMRANGEBYSCORE z1 x 1
        ZREMRANGEBYSCORE str x 1
        ZADD z1 1 a 2 b 3 c 4 d 5 e
        ZREMRANGEBYSCORE z1 (1 (3
        ZREMRANGEBYLEX z1 a b
        ZREMRANGEBYLEX str a b
        ZREMRANGEBYLEX z1 [a (c
        ZRANGE z1 0 -1
        ZREMRANGEBYRANK z1 0 -1
        EXISTS z1
        ZADD z1 1 a 2 b 3 c 4 d 5 e
        ZCOUNT z1 x 1
        ZCOUNT str 1 2
        ZCOUNT z1 (1 4
        ZCOUNT z1 5 1
        ZCOUNT z1 -inf +inf
        ZLEXCOUNT z1 - +
        ZLEXCOUNT z1 [b (d
        ZLEXCOUNT z1 x y
        ZLEXCOUNT str x y
        ZLEXCOUNT str - +
        ZRANDMEMBER z1 x
        ZRANDMEMBER z1 1 x
        ZRANDMEMBER z1 1 WITHSCORES x
        ZRANDMEMBER str
        ZRANDMEMBER str 1
        ZRANDMEMBER z1 -9223372036854775808
        ZRANDMEMBER z1 9223372036854775807 WITHSCORES
        ZRANDMEMBER z1 5 WITHSCORES
        ZRANDMEMBER z1 4611686018427387903 WITHSCORES
        ZRANDMEMBER z1 4611686018427387904 WITHSCORES
        ZRANDMEMBER z1 -4611686018427387903 WITHSCORES x
        ZRANDMEMBER z1 -4611686018427387904 WITHSCORES
        ZRANDMEMBER z1 -9223372036854775808 x
        ZRANDMEMBER z1 9223372036854775807
        ZRANDMEMBER str 9223372036854775807 WITHSCORES
        ZRANDMEMBER nokey 0
        ZRANDMEMBER nokey
        ZRANDMEMBER nokey 3
        ZRANDMEMBER z1 0
        ZSCAN z1 0 COUNT 0
        ZSCAN z1 x
        ZSCAN str 0
        ZSCAN nokey 0
        ZSCAN z1 0 MATCH *c* COUNT 5
        ZSCAN z1 0 TYPE zset
        ZSCAN z1 0 COUNT
        ZSCAN z1 -1
        ZSCAN z1 18446744073709551616
        ZSCAN str 0 COUNT 0
        ZSCAN nokey 0 COUNT 0
        ZSCAN nokey x
        ZSCAN z1 0 COUNT x
        ZSCAN z1 0 MATCH
        ZCARD z1
        ZCARD str
        ZCARD nokey
        ZSCORE str a
        ZMSCORE str a
        ZMSCORE z1
        ZMSCORE z1 a nope b
        ZMSCORE nokey a
        ZRANK str a
        ZRANK z1 c
        ZREVRANK z1 a
        ZRANK z1 nope
        ZREM z1 a a b zz
        ZREM str a
        ZREM nokey a
        ZREM z1 c d e
        EXISTS z1
        "#,
    );
}

#[test]
fn scores_and_resp3_shapes_match_redis() {
    check(
        r#"
        FLUSHALL
        ~HELLO 3
        ZADD s -0 g 0.5 h inf x 0.1 y 1e17 z 123456789012345678 w 1e-5 v
        ZSCORE s h
        ZSCORE s y
        ZSCORE s z
        ZSCORE s w
        ZSCORE s v
        ZSCORE s g
        ZSCORE s nope
        ZSCORE nokey a
        ZMSCORE s h nope x
        ZMSCORE nokey h nope
        ZRANGE s 0 -1 WITHSCORES
        ZRANGE s 0 -1
        ZRANGEBYSCORE s -inf inf WITHSCORES
        ZREVRANGEBYSCORE s inf -inf WITHSCORES LIMIT 1 2
        ZREVRANGE s 0 1 WITHSCORES
        ZPOPMIN s
        ZPOPMIN s 1
        ZPOPMIN s 0
        ZPOPMAX s 2
        ZADD s 1 a 2 b 3 c
        ~ZRANDMEMBER s 1 WITHSCORES
        ZRANK s nope
        ZRANK nokey a
        ZMPOP 1 s MIN
        ZMPOP 1 nokey MIN
        ZPOPMIN nokey
        ZPOPMIN nokey 3
        ZINCRBY s 1 h
        ZINCRBY s 0.1 h
        ZADD s XX INCR 1 nope
        ZADD s INCR 1.5 b
        ZUNION 1 s WITHSCORES
        ZINTER 1 s WITHSCORES
        ZDIFF 1 s WITHSCORES
        ZSCAN s 0
        ZRANDMEMBER nokey
        ZRANDMEMBER nokey 3
        ZRANDMEMBER s 0
        ZMPOP 1 s MAX COUNT 2
        ZADD t 1 a
        ZRANDMEMBER t -3 WITHSCORES
        ZRANDMEMBER t 3 WITHSCORES
        ZRANDMEMBER t -2
        ZRANDMEMBER t
        ZUNION 1 t WEIGHTS -0 WITHSCORES
        ~HELLO 2
        ZADD n -0.0 x
        ZSCORE n x
        ZADD n 1e-320 y
        ZSCORE n y
        ZADD n -5e-324 w
        ZSCORE n w
        ZADD n 0x1p-3 a
        ZSCORE n a
        ZADD n 0x10 b
        ZADD n 1e400 c
        ZADD n 1e-400 c
        ZADD n " 1" d
        ZADD n "1 " d
        ZADD n "" d
        ZADD n infinity e -INF f +inf g
        ZRANGE n 0 -1 WITHSCORES
        ZRANGEBYSCORE n "" 100
        ZRANGEBYSCORE n "(" 100
        ZRANGEBYSCORE n " 1" 1e400
        ZRANGEBYSCORE n nan 1
        ZRANGEBYSCORE n (nan 1
        ZRANGEBYSCORE n -inf (0x10
        ZINCRBY n 1e308 e
        ZINCRBY n -inf e
        ZADD n 1.7976931348623157e308 big
        ZINCRBY n 1.7976931348623157e308 big
        ZSCORE n big
        ZADD n 3.0000000000000004 t 2.9999999999999996 u
        ZRANGE n 0 -1 WITHSCORES
        ZSCAN n 0
        ZADD n 1.1 "\x00\xff" 1.1 "\x00" 1.1 ""
        ZRANGEBYLEX n - +
        ZRANGE n 0 -1 WITHSCORES
        "#,
    );
}

#[test]
fn encodings_and_thresholds_match_redis() {
    check(
        r#"
        FLUSHALL
        CONFIG SET zset-max-listpack-entries 0
        ZADD q 1e17 a 1.5 b 4611686018427387904 c 4611686018427387903 d -0 e 3 f inf g 123456789012345678 h 1e300 i
        ~ZSCAN q 0 COUNT 100
        ZSCORE q e
        CONFIG SET zset-max-listpack-entries 128
        DEL q
        ZADD q 1e17 a 1.5 b 4611686018427387904 c 4611686018427387903 d -0 e 3 f inf g 123456789012345678 h 1e300 i 4611686018427387904.5 j -4611686018427387904 k -4611686018427387905 l -1e19 m
        ZSCAN q 0 COUNT 100
        ZRANGE q 0 -1 WITHSCORES
        CONFIG SET zset-max-listpack-entries 3
        CONFIG SET zset-max-listpack-value 5
        ZADD e1 1 a 2 b 3 c
        OBJECT ENCODING e1
        ZADD e1 4 d
        OBJECT ENCODING e1
        ZREM e1 a b c
        OBJECT ENCODING e1
        ZADD e2 1 aaaaa
        OBJECT ENCODING e2
        ZADD e2 1 aaaaaa
        OBJECT ENCODING e2
        ZADD e3 1 aaaaaa
        OBJECT ENCODING e3
        ZADD e4 1 a 2 bbbbbbbbb
        OBJECT ENCODING e4
        ZADD e5 1 a 2 b 3 c 4 d
        OBJECT ENCODING e5
        ZUNIONSTORE d1 1 e1
        OBJECT ENCODING d1
        ZRANGESTORE d2 e5 0 2
        OBJECT ENCODING d2
        ZRANGESTORE d3 e4 0 -1
        OBJECT ENCODING d3
        ZUNIONSTORE d4 1 e4
        OBJECT ENCODING d4
        ZINCRBY e6 1 aaaaaaaaaaa
        OBJECT ENCODING e6
        ZADD e7 xx 1 a
        EXISTS e7
        CONFIG SET zset-max-listpack-entries 0
        ZADD e8 1 a
        OBJECT ENCODING e8
        ZRANGESTORE d5 e5 0 0
        OBJECT ENCODING d5
        ZUNIONSTORE d6 1 e5
        OBJECT ENCODING d6
        COPY e1 e1c
        OBJECT ENCODING e1c
        ZRANGE e1c 0 -1 WITHSCORES
        CONFIG SET zset-max-listpack-entries 128
        CONFIG SET zset-max-listpack-value 64
        COPY e5 e5c
        OBJECT ENCODING e5c
        ZADD e5c 10 x
        OBJECT ENCODING e5c
        "#,
    );
}

#[test]
fn zrangestore_destination_encoding_matches_redis() {
    check(
        r#"
        FLUSHALL
        CONFIG SET zset-max-listpack-entries 0
        ZADD src -0 a 1 b 2 c 3 d 4 e
        CONFIG SET zset-max-listpack-entries 3
        CONFIG SET zset-max-listpack-value 5
        ZRANGESTORE d1 src 0 -1
        ZSCORE d1 a
        ZRANGESTORE d2 src -inf +inf BYSCORE
        ZSCORE d2 a
        ZRANGESTORE d3 src -inf 1 BYSCORE
        OBJECT ENCODING d3
        ZSCORE d3 a
        ZRANGESTORE d4 src - + BYLEX
        ZSCORE d4 a
        ZRANGESTORE d5 src 0 1
        OBJECT ENCODING d5
        ZSCORE d5 a
        ZRANGESTORE d6 src 0 3
        OBJECT ENCODING d6
        ZSCORE d6 a
        ZRANGESTORE d7 src 0 2
        OBJECT ENCODING d7
        ZSCORE d7 a
        ZRANGESTORE d8 src +inf -inf BYSCORE REV LIMIT 0 4
        ZSCORE d8 a
        ZRANGESTORE d9 src -inf +inf BYSCORE LIMIT 0 4
        ZSCORE d9 a
        OBJECT ENCODING d9
        CONFIG SET zset-max-listpack-entries 0
        ZRANGESTORE d10 src -inf 1 BYSCORE
        OBJECT ENCODING d10
        ZSCORE d10 a
        ZRANGESTORE d11 src 0 0
        OBJECT ENCODING d11
        ZSCORE d11 a
        CONFIG SET zset-max-listpack-entries 128
        CONFIG SET zset-max-listpack-value 64
        "#,
    );
}

#[test]
fn wrong_arity_matches_redis() {
    check(
        r#"
        ZADD k
        ZADD k 1
        ZINCRBY k 1
        ZINCRBY k 1 a b
        ZREM k
        ZCARD
        ZCARD k x
        ZSCORE k
        ZMSCORE k
        ZRANK k
        ZREVRANK k a b
        ZRANGE k 0
        ZRANGESTORE d k 0
        ZRANGEBYSCORE k 0
        ZREVRANGEBYSCORE k 0
        ZRANGEBYLEX k -
        ZREVRANGEBYLEX k +
        ZREVRANGE k 0
        ZCOUNT k 0
        ZLEXCOUNT k -
        ZPOPMIN
        ZPOPMAX
        ZMPOP 1 k
        ZREMRANGEBYRANK k 0
        ZREMRANGEBYSCORE k 0
        ZREMRANGEBYLEX k -
        ZUNION 1
        ZINTER 1
        ZDIFF 1
        ZUNIONSTORE d 1
        ZINTERSTORE d 1
        ZDIFFSTORE d 1
        ZINTERCARD 1
        ZRANDMEMBER
        ZSCAN k
        "#,
    );
}

/// A skiplist-encoded zset large enough for a multi-level structure:
/// ranks, ranges, counts and range removals in both directions.
#[test]
fn large_skiplist_matches_redis() {
    let mut script = String::from("ZADD big");
    for i in 0..400 {
        // Repeated scores so ties are broken by member.
        script.push_str(&format!(" {} m{:03}", (i * 7) % 50, i));
    }
    script.push('\n');
    script.push_str(
        r#"
        OBJECT ENCODING big
        ZCARD big
        ZRANGE big 0 9 WITHSCORES
        ZRANGE big -10 -1 WITHSCORES
        ZRANGE big 195 205
        ZRANGE big 100 110 REV WITHSCORES
        ZRANGE big 0 -1 LIMIT 0 1
        ZRANK big m007
        ZREVRANK big m007
        ZRANK big m399
        ZRANK big nope
        ZCOUNT big 10 20
        ZCOUNT big (10 (20
        ZCOUNT big -inf +inf
        ZRANGEBYSCORE big 48 +inf WITHSCORES
        ZRANGEBYSCORE big (3 5 LIMIT 3 4
        ZREVRANGEBYSCORE big 5 (3 LIMIT 3 4
        ZRANGEBYSCORE big 10 10 LIMIT 2 -1
        ZRANGEBYSCORE big -inf +inf LIMIT 398 10
        ZRANGEBYSCORE big -inf +inf LIMIT 400 10
        ZRANGE big 9223372036854775807 0
        ZRANGE big 0 9223372036854775807 BYSCORE LIMIT 390 9223372036854775807
        ZMSCORE big m000 m001 nope m399
        ZREMRANGEBYRANK big 0 9
        ZREMRANGEBYRANK big -5 -1
        ZREMRANGEBYSCORE big (20 25
        ZCARD big
        ZRANGE big 0 20 WITHSCORES
        ZPOPMIN big 3
        ZPOPMAX big 3
        ZMPOP 1 big MIN COUNT 2
        ZADD big 0 aaa 0 aab 0 aac
        ZRANGEBYLEX big - [aab
        ZRANGESTORE dst big 0 99
        OBJECT ENCODING dst
        ZRANGE dst 0 4 WITHSCORES
        ZUNIONSTORE u 2 big dst WEIGHTS 1 -1
        ZRANGE u 0 5 WITHSCORES
        ZINTERSTORE i 2 big dst AGGREGATE MAX
        ZCARD i
        ZDIFFSTORE d 2 big dst
        ZCARD d
        ZINTERCARD 2 big dst LIMIT 7
        ZREMRANGEBYRANK big 0 -1
        EXISTS big
        "#,
    );
    check(&script);
}

/// A seeded random mix of commands (deterministic ones only) over a few
/// keys, with thresholds that move them between encodings. Lex ranges run
/// on sets with equal scores (or small listpacks, where Redis's scan is
/// deterministic even with mixed scores).
#[test]
fn random_command_mix_matches_redis() {
    for seed in [1u64, 2, 3, 4] {
        check(&random_script(seed, 250));
    }
}

fn random_script(seed: u64, commands: usize) -> String {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move |n: usize| -> usize {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let long = "x".repeat(70);
    let mut members: Vec<String> = ["a", "b", "c", "d", "e", "aa", "ab", "ba", "m1", "m2"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let listpack_only = seed.is_multiple_of(2);
    if !listpack_only {
        members.push(long);
        members.extend((0..150).map(|i| format!("n{i}")));
    }
    let scores = [
        "1",
        "2",
        "0",
        "-1",
        "1.5",
        "-inf",
        "+inf",
        "0.1",
        "1e17",
        "-0",
        "7",
        "3.0000000000000004",
    ];
    let score_bounds = ["-inf", "+inf", "(1", "1", "(2", "3", "0", "(-1", "5", "2.5"];
    let lex_bounds = ["-", "+", "[a", "(a", "[b", "(b", "[ab", "(m1", "[", "[zz"];
    let ranks = ["0", "1", "2", "-1", "-2", "5", "-5", "100", "-100"];
    let keys = ["z1", "z2", "z3"];
    let mut out = vec!["FLUSHALL".to_string(), format!("~HELLO {}", 2 + next(2))];
    if listpack_only {
        out.push("CONFIG SET zset-max-listpack-entries 128".into());
        out.push("CONFIG SET zset-max-listpack-value 64".into());
    } else {
        out.push(format!(
            "CONFIG SET zset-max-listpack-entries {}",
            [0, 1, 3, 16][next(4)]
        ));
        out.push(format!(
            "CONFIG SET zset-max-listpack-value {}",
            [1, 2, 64][next(3)]
        ));
    }
    out.push("ZADD L 0 a 0 b 0 c 0 aa 0 ab 0 ba 0 m1 0 m2 0 \"\" 0 x".into());
    for _ in 0..commands {
        let k = keys[next(3)];
        let lk = if listpack_only { k } else { "L" };
        let m =
            |next: &mut dyn FnMut(usize) -> usize| format!("\"{}\"", members[next(members.len())]);
        let line = match next(16) {
            0..=3 => {
                let opts = ["", "NX ", "XX ", "GT ", "LT ", "CH ", "GT CH ", "XX LT "][next(8)];
                let mut l = format!("ZADD {k} {opts}");
                let many = if next(4) == 0 { 30 } else { 3 };
                for _ in 0..1 + next(many) {
                    l.push_str(&format!("{} {} ", scores[next(scores.len())], m(&mut next)));
                }
                l
            }
            4 => format!(
                "ZINCRBY {k} {} {}",
                scores[next(scores.len())],
                m(&mut next)
            ),
            5 => format!("ZREM {k} {} {}", m(&mut next), m(&mut next)),
            6 => format!(
                "ZRANGE {k} {} {}{}",
                ranks[next(ranks.len())],
                ranks[next(ranks.len())],
                [" ", " REV", " WITHSCORES", " REV WITHSCORES"][next(4)]
            ),
            7 => format!(
                "ZRANGE {k} {} {} BYSCORE{}{}",
                score_bounds[next(score_bounds.len())],
                score_bounds[next(score_bounds.len())],
                [" ", " REV", " WITHSCORES"][next(3)],
                ["", " LIMIT 1 2", " LIMIT 0 -1", " LIMIT -1 1"][next(4)]
            ),
            8 => format!(
                "ZRANGE {lk} {} {} BYLEX{}{}",
                lex_bounds[next(lex_bounds.len())],
                lex_bounds[next(lex_bounds.len())],
                ["", " REV"][next(2)],
                ["", " LIMIT 1 2", " LIMIT 0 1"][next(3)]
            ),
            9 => format!(
                "{} {k} {} {}",
                ["ZCOUNT", "ZREMRANGEBYSCORE"][next(2)],
                score_bounds[next(score_bounds.len())],
                score_bounds[next(score_bounds.len())]
            ),
            10 => format!(
                "{} {lk} {} {}",
                ["ZLEXCOUNT", "ZREMRANGEBYLEX"][next(2)],
                lex_bounds[next(lex_bounds.len())],
                lex_bounds[next(lex_bounds.len())]
            ),
            11 => format!(
                "ZREMRANGEBYRANK {k} {} {}",
                ranks[next(ranks.len())],
                ranks[next(ranks.len())]
            ),
            12 => format!(
                "{} {k} {}",
                ["ZRANK", "ZREVRANK", "ZSCORE"][next(3)],
                m(&mut next)
            ),
            13 => format!(
                "{} {k}{}",
                ["ZPOPMIN", "ZPOPMAX"][next(2)],
                ["", " 0", " 2"][next(3)]
            ),
            14 => {
                let op = [
                    "ZUNION",
                    "ZINTER",
                    "ZDIFF",
                    "ZUNIONSTORE",
                    "ZINTERSTORE",
                    "ZDIFFSTORE",
                ][next(6)];
                let n = 1 + next(3);
                let mut l = op.to_string();
                if op.ends_with("STORE") {
                    l.push_str(" dst");
                }
                l.push_str(&format!(" {n}"));
                for _ in 0..n {
                    l.push_str(&format!(" {}", keys[next(3)]));
                }
                if !op.starts_with("ZDIFF") {
                    if next(2) == 0 {
                        l.push_str(" WEIGHTS");
                        for _ in 0..n {
                            l.push_str(&format!(" {}", ["1", "2", "-1", "0.5"][next(4)]));
                        }
                    }
                    if next(2) == 0 {
                        l.push_str(&format!(" AGGREGATE {}", ["SUM", "MIN", "MAX"][next(3)]));
                    }
                }
                if !op.ends_with("STORE") && next(2) == 0 {
                    l.push_str(" WITHSCORES");
                }
                l
            }
            _ => format!("ZRANGESTORE dst {k} 0 {}", ranks[next(ranks.len())]),
        };
        out.push(line.trim_end().to_string());
        if next(8) == 0 {
            let key = ["z1", "z2", "z3", "dst"][next(4)];
            out.push(format!("ZRANGE {key} 0 -1 WITHSCORES"));
            out.push(format!("OBJECT ENCODING {key}"));
        }
    }
    out.join("\n")
}

/// BZPOPMIN, BZPOPMAX and BZMPOP where they do not block: a key already
/// has members, wrong types, timeout / numkeys / count errors, arity, both
/// protocols, and inside MULTI (where an empty key answers as a timeout).
#[test]
fn blocking_pops_without_waiting_match_redis() {
    check(
        r#"
        FLUSHALL
        SET str x
        ZADD z1 1 a 2 b 3 c 4 d 5 e
        ZADD z2 -1.5 x 0.25 y
        BZPOPMIN z1 0
        BZPOPMAX z1 0
        BZPOPMIN nokey z2 z1 0
        BZPOPMAX nokey z2 1.5
        BZPOPMIN nokey str z1 0
        BZPOPMIN z1 str 0
        BZPOPMIN z1
        BZPOPMAX
        BZPOPMIN z1 abc
        BZPOPMIN z1 -1
        BZPOPMIN z1 inf
        BZPOPMAX z1 1e100
        BZPOPMIN nokey -1
        BZPOPMIN nokey nan
        ZRANGE z1 0 -1 WITHSCORES
        BZMPOP 0 1 z1 MIN
        BZMPOP 0 3 nokey str z1 MAX
        BZMPOP 0 2 nokey z1 MAX COUNT 10
        EXISTS z1
        ZADD z1 1 a 2 b 3 c 4 d 5 e
        BZMPOP 0 2 z2 z1 MIN COUNT 1
        BZMPOP 0 0 z1 MIN
        BZMPOP 0 -1 z1 MIN
        BZMPOP 0 x z1 MIN
        BZMPOP 0 2 z1 MIN
        BZMPOP 0 1 z1 FOO
        BZMPOP 0 1 z1 MIN COUNT
        BZMPOP 0 1 z1 MIN COUNT 0
        BZMPOP 0 1 z1 MIN COUNT x
        BZMPOP 0 1 z1 MIN COUNT 1 COUNT 1
        BZMPOP x 1 z1 MIN
        BZMPOP -1 1 z1 MIN
        BZMPOP x 0 z1 MIN
        BZMPOP 0 1 z1
        BZMPOP 0 1
        BZMPOP 0 9223372036854775807 z1 MIN
        BZMPOP 0 1 str MIN
        MULTI
        BZPOPMIN nokey 0
        BZPOPMAX z1 0
        BZMPOP 0 1 nokey MAX
        BZMPOP 0 1 z1 MAX COUNT 2
        EXEC
        ~HELLO 3
        ZADD z1 1 a 2 b 3 c
        BZPOPMIN z1 0
        BZPOPMAX z1 0
        ZADD z3 1 a 2 b 3 c
        BZMPOP 0 1 z3 MAX COUNT 2
        BZMPOP 0 1 z3 MIN
        EXISTS z3
        MULTI
        BZPOPMIN nokey 0
        BZMPOP 0 1 nokey MIN
        EXEC
        ~HELLO 2
        COMMAND GETKEYS BZPOPMIN a b c 0
        "#,
    );
}
