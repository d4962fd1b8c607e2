//! Differential tests for the list family: the same scripts against
//! RedisLite and redis-server 7.0, replies compared byte for byte.
//!
//! Blocking commands appear here only where they do not block (a list has
//! elements) or with a short timeout (both servers answer the timeout
//! reply); waking blocked clients across connections is tested end to
//! end in lists.rs.

use crate::differential::check;

#[test]
fn lists_push_pop_index_match_redis() {
    check(
        r#"
        RPUSH l a b c d e
        LPUSH l z y
        LRANGE l 0 -1
        LLEN l
        LPUSHX nokey a
        RPUSHX nokey a b
        EXISTS nokey
        LPUSHX l x1 x2
        RPUSHX l y1
        LRANGE l 0 -1
        LRANGE l -3 -1
        LRANGE l -100 100
        LRANGE l 5 2
        LRANGE l 100 200
        LRANGE l -1 -2
        LRANGE l 0 0
        LRANGE l 0 abc
        LRANGE l abc 0
        LRANGE nokey 0 -1
        LRANGE nokey abc 0
        LRANGE l 9223372036854775807 -9223372036854775808
        LRANGE l -9223372036854775808 9223372036854775807
        LINDEX l 0
        LINDEX l -1
        LINDEX l 3
        LINDEX l 100
        LINDEX l -100
        LINDEX l -9223372036854775808
        LINDEX l abc
        LINDEX nokey abc
        LINDEX nokey 0
        LSET l 0 first
        LSET l -1 last
        LSET l 4 mid
        LSET l 100 x
        LSET l -100 x
        LSET nokey 0 x
        LSET nokey abc x
        LSET l abc x
        LRANGE l 0 -1
        LPOP l
        RPOP l
        LPOP l 0
        LPOP l 2
        RPOP l 2
        RPOP l 1
        LPOP l -1
        LPOP l abc
        RPOP l -5
        LPOP l 1 2
        RPOP nokey
        RPOP nokey 1
        RPOP nokey 0
        LPOP nokey -1
        LLEN l
        LPOP l 1000000000000000000
        EXISTS l
        LLEN l
        LLEN nokey
        RPUSH n 1 2 3 -4 9223372036854775807 1.5 "" " x "
        LRANGE n 0 -1
        RPOP n 3
        LPUSH e ""
        LRANGE e 0 -1
        LPOP e
        EXISTS e
        "#,
    );
}

#[test]
fn lists_wrong_type_and_arity_match_redis() {
    check(
        r#"
        SET s str
        LPUSH s a
        RPUSH s a
        LPUSHX s a
        RPUSHX s a
        LPOP s
        RPOP s 1
        LPOP s abc
        LLEN s
        LRANGE s 0 1
        LRANGE s 0 abc
        LINDEX s 0
        LINDEX s abc
        LSET s 0 x
        LSET s abc x
        LINSERT s before a b
        LINSERT s middle a b
        LREM s 0 a
        LREM s abc a
        LTRIM s 0 1
        LPOS s a
        LPOS s a RANK 0
        LMOVE s d left left
        RPUSH l a
        LMOVE l s left left
        RPOPLPUSH l s
        LRANGE l 0 -1
        RPOPLPUSH s l
        LMPOP 2 nokey s left
        BLPOP s 0
        BRPOP nokey s 0
        BLMPOP 0 1 s left
        BLMOVE s l left left 0
        BLMOVE l s left left 0
        BRPOPLPUSH l s 0
        LRANGE l 0 -1
        LPUSH
        LPUSH l
        RPUSH l
        LPUSHX l
        RPUSHX l
        LPOP
        RPOP
        LLEN
        LLEN a b
        LRANGE l 0
        LRANGE l 0 1 2
        LINDEX l
        LSET l 0
        LINSERT l before a
        LREM l 0
        LTRIM l 0
        LPOS l
        LMOVE a b left
        RPOPLPUSH a
        LMPOP 1 a
        LMPOP 1
        BLPOP a
        BRPOP a
        BLMOVE a b left left
        BRPOPLPUSH a b
        BLMPOP 0 1 a
        BLMPOP 0 1
        "#,
    );
}

#[test]
fn lists_insert_remove_trim_lpos_match_redis() {
    check(
        r#"
        RPUSH l a b c a b c a
        LINSERT l BEFORE b X
        LINSERT l after c Y
        LINSERT l before nosuch Z
        LINSERT l AFTER a
        LINSERT l sideways a Z
        LINSERT nokey before a b
        LINSERT nokey middle a b
        LINSERT l before a first
        LINSERT l after a last
        LRANGE l 0 -1
        LPOS l a
        LPOS l a RANK 1
        LPOS l a RANK 2
        LPOS l a RANK -1
        LPOS l a RANK -2
        LPOS l a RANK 10
        LPOS l a RANK 0
        LPOS l a RANK abc
        LPOS l a RANK -9223372036854775808
        LPOS l a RANK -9223372036854775808 COUNT 2
        LPOS l a COUNT 0
        LPOS l a COUNT 2
        LPOS l a COUNT 2 RANK 2
        LPOS l a COUNT 0 RANK -1
        LPOS l a COUNT 2 RANK -2
        LPOS l a COUNT -1
        LPOS l a COUNT abc
        LPOS l a MAXLEN 1
        LPOS l a MAXLEN 3
        LPOS l a MAXLEN 3 COUNT 0
        LPOS l a MAXLEN 3 RANK -1
        LPOS l a MAXLEN 3 RANK -1 COUNT 0
        LPOS l a MAXLEN -1
        LPOS l a MAXLEN abc
        LPOS l a MAXLEN 0 COUNT 0 RANK 1
        LPOS l a COUNT
        LPOS l a FOO 1
        LPOS l nosuch
        LPOS l nosuch COUNT 0
        LPOS nokey a
        LPOS nokey a COUNT 1
        LPOS nokey a RANK 0
        LREM l 1 a
        LRANGE l 0 -1
        LREM l -1 a
        LRANGE l 0 -1
        LREM l 0 b
        LRANGE l 0 -1
        LREM l 0 nosuch
        LREM l abc a
        LREM nokey 0 a
        LREM l -100 a
        LRANGE l 0 -1
        LREM l 0 X
        LREM l 0 Y
        LREM l 0 c
        LRANGE l 0 -1
        LREM l 0 first
        LREM l 0 last
        EXISTS l
        RPUSH t 0 1 2 3 4 5 6 7 8 9
        LTRIM t 1 -2
        LRANGE t 0 -1
        LTRIM t -3 100
        LRANGE t 0 -1
        LTRIM t abc 1
        LTRIM t 0 abc
        LTRIM nokey 0 1
        LTRIM t 5 1
        EXISTS t
        RPUSH t2 a b c
        LTRIM t2 -100 -50
        EXISTS t2
        RPUSH t3 a b c
        LTRIM t3 0 0
        LRANGE t3 0 -1
        LTRIM t3 1 1
        EXISTS t3
        "#,
    );
}

#[test]
fn lists_move_and_mpop_match_redis() {
    check(
        r#"
        RPUSH src a b c d
        LMOVE src dst LEFT RIGHT
        LMOVE src dst right left
        LMOVE src dst middle left
        LMOVE src dst left up
        LRANGE src 0 -1
        LRANGE dst 0 -1
        RPOPLPUSH src dst
        RPOPLPUSH src dst
        RPOPLPUSH src dst
        EXISTS src
        LRANGE dst 0 -1
        LMOVE dst dst left right
        LRANGE dst 0 -1
        RPOPLPUSH dst dst
        LRANGE dst 0 -1
        RPUSH one x
        LMOVE one one left left
        LRANGE one 0 -1
        LMOVE nokey dst left left
        RPOPLPUSH nokey dst
        EXISTS nokey
        RPUSH m1 a b c d e
        RPUSH m2 x
        LMPOP 2 nokey m1 LEFT
        LMPOP 2 nokey m1 RIGHT COUNT 2
        LMPOP 2 m1 m2 left count 10
        EXISTS m1
        LMPOP 2 m1 m2 left count 10
        LMPOP 1 m2 left
        LMPOP 0 m1 left
        LMPOP -1 m1 left
        LMPOP abc m1 left
        LMPOP 2 m1 left
        LMPOP 5 a b left
        LMPOP 9223372036854775807 a left
        LMPOP 1 m1 middle
        LMPOP 1 m1 left count 0
        LMPOP 1 m1 left count -1
        LMPOP 1 m1 left count abc
        LMPOP 1 m1 left count 1 count 1
        LMPOP 1 m1 left foo
        LMPOP 1 m1 left count
        COMMAND GETKEYS LMPOP 2 a b left
        COMMAND GETKEYS LMPOP 2 a b
        COMMAND GETKEYS LMPOP 0 a left
        COMMAND GETKEYS LMPOP 3 a left
        COMMAND GETKEYS LMPOP abc a left
        COMMAND GETKEYS BLMPOP 0 1 a right count 2
        COMMAND GETKEYS BLMPOP 0 5 a
        COMMAND GETKEYS BLPOP a b 0
        COMMAND GETKEYS BRPOPLPUSH a b 0
        COMMAND GETKEYS LMOVE a b left left
        COMMAND GETKEYS SINTERCARD 2 a b LIMIT 1
        COMMAND GETKEYS SINTERCARD 0 a
        COMMAND GETKEYS SINTERCARD 3 a b
        RPUSH b1 a b c
        BLPOP nokey b1 0
        BRPOP b1 0
        BLPOP b1 1.5
        EXISTS b1
        RPUSH b2 1 2 3 4
        BLMPOP 0 2 nokey b2 left count 2
        BLMPOP 0.5 1 b2 right
        BLMPOP 0 1 b2 right count 5
        RPUSH b3 a b
        BLMOVE b3 b4 right left 0
        BRPOPLPUSH b3 b4 0
        LRANGE b4 0 -1
        EXISTS b3
        BLPOP nokey 0.01
        BRPOP nokey nokey2 0.02
        BLMPOP 0.01 2 nokey nokey2 left
        BLMPOP 0.01 1 nokey right count 3
        BLMOVE nokey b4 left left 0.01
        BRPOPLPUSH nokey b4 0.01
        BLPOP nokey abc
        BLPOP nokey -1
        BLPOP nokey -0.5
        BLPOP nokey 1e100
        BLPOP nokey inf
        BLPOP nokey nan
        BLPOP nokey ""
        BLPOP nokey "1 "
        BLPOP nokey 0.0001
        BLPOP nokey 1e-400
        BLPOP nokey 0x0.01p-3
        BRPOPLPUSH nokey b4 -1
        BRPOPLPUSH nokey b4 abc
        BLMOVE nokey b4 left up 0
        BLMOVE nokey b4 up left abc
        BLMOVE nokey b4 left left abc
        BLMPOP abc 1 nokey left
        BLMPOP -1 1 nokey left
        BLMPOP 0 0 nokey left
        BLMPOP abc 0 nokey left
        BLMPOP 0 1 nokey left count 0
        BLMPOP abc 1 nokey left count 0
        BLMPOP 0 2 nokey left
        "#,
    );
}

#[test]
fn lists_resp3_replies_match_redis() {
    check(
        r#"
        ~HELLO 3
        RPUSH l a b c
        LPOP nokey
        LPOP nokey 2
        LPOP l 0
        LPOP l 2
        RPOP l
        LINDEX nokey 0
        LPOS nokey a
        LPOS nokey a COUNT 0
        LRANGE nokey 0 -1
        LMOVE nokey x left left
        LMPOP 1 nokey left
        RPUSH l2 x y
        LMPOP 1 l2 left count 5
        BLPOP nokey 0.01
        BLMOVE nokey x left left 0.01
        BRPOPLPUSH nokey x 0.01
        BLMPOP 0.01 1 nokey left
        RPUSH l3 z
        BLPOP l3 0
        "#,
    );
}

/// OBJECT ENCODING is "quicklist" for every list in 7.0, small or large,
/// whatever list-max-listpack-size says; contents survive node splits at
/// every fill, elements bigger than a node, and COPY/RENAME/MOVE.
#[test]
fn lists_encoding_and_big_values_match_redis() {
    let big = "x".repeat(9000);
    let mid = "m".repeat(300);
    let mut script = String::from(
        "
        RPUSH small a
        OBJECT ENCODING small
        TYPE small
        CONFIG SET list-max-listpack-size 2
        RPUSH c 1 2 3 4 5 6 7
        OBJECT ENCODING c
        LRANGE c 0 -1
        LINSERT c before 4 x
        LSET c 0 y
        LRANGE c 0 -1
        LREM c 0 x
        LRANGE c 2 4
        CONFIG SET list-max-listpack-size 0
        RPUSH z 1 2 3
        LPUSH z 0
        LRANGE z 0 -1
        CONFIG SET list-max-listpack-size -1
        ",
    );
    for i in 0..300 {
        script.push_str(&format!("RPUSH big {mid}{i}\n"));
    }
    script.push_str(&format!(
        "
        RPUSH big {big}
        LPUSH big {big}
        LLEN big
        OBJECT ENCODING big
        LINDEX big 0
        LINDEX big 150
        LINDEX big -1
        LRANGE big 140 145
        LSET big 10 {big}
        LINDEX big 10
        LINSERT big after {mid}100 {big}
        LPOS big {big} COUNT 0
        LPOS big {mid}299
        LREM big 2 {big}
        LLEN big
        LRANGE big 0 2
        LTRIM big 100 -100
        LLEN big
        LRANGE big 0 1
        LMPOP 1 big right count 3
        COPY big big2
        LRANGE big2 -2 -1
        RENAME big2 big3
        LLEN big3
        MOVE big3 1
        EXISTS big3
        SELECT 1
        LLEN big3
        SELECT 0
        CONFIG SET list-max-listpack-size -2
        "
    ));
    check(&script);
}

/// Inside MULTI/EXEC blocking commands never block: an empty source
/// answers like a timeout. WATCH sees exactly the modifications Redis
/// signals (a no-op LREM or failed LINSERT does not abort EXEC).
#[test]
fn lists_in_transactions_match_redis() {
    check(
        r#"
        MULTI
        BLPOP nokey 0
        BRPOP nokey nokey2 0
        BLMOVE nokey d left left 0
        BRPOPLPUSH nokey d 0
        BLMPOP 0 1 nokey left count 2
        RPUSH q a b
        BLPOP q 0
        BLMOVE q d right left 0
        EXEC
        LRANGE d 0 -1
        EXISTS q
        RPUSH w a b c
        WATCH w
        LREM w 0 nosuch
        LINSERT w before nosuch x
        LPOP w 0
        LPUSHX nokey x
        LMOVE nokey w left left
        LSET w 100 x
        MULTI
        LLEN w
        EXEC
        WATCH w
        LTRIM w 0 -1
        MULTI
        LLEN w
        EXEC
        WATCH w
        LSET w 0 z
        MULTI
        LLEN w
        EXEC
        WATCH w
        LMOVE w w left right
        MULTI
        LRANGE w 0 -1
        EXEC
        SET s str
        WATCH s
        LMOVE w s left left
        MULTI
        LLEN w
        EXEC
        "#,
    );
}
