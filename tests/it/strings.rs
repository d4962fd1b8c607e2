//! String commands through the `redis` crate (a real client library).

use crate::common::ServerProc;
use redis::Commands;

#[test]
fn set_get_and_counters() {
    let s = ServerProc::start(&[]);
    let mut r = s.client();
    let _: () = r.set("a", "hello").unwrap();
    let v: String = r.get("a").unwrap();
    assert_eq!(v, "hello");
    let n: i64 = r.incr("n", 5).unwrap();
    assert_eq!(n, 5);
    let n: i64 = r.decr("n", 7).unwrap();
    assert_eq!(n, -2);
    let missing: Option<String> = r.get("nope").unwrap();
    assert_eq!(missing, None);
    let len: usize = r.append("a", " world").unwrap();
    assert_eq!(len, 11);
    let vals: Vec<Option<String>> = r.mget(&["a", "nope"]).unwrap();
    assert_eq!(vals, vec![Some("hello world".to_string()), None]);
}

#[test]
fn incr_overflow_and_type_errors() {
    let s = ServerProc::start(&[]);
    let mut r = s.client();
    let _: () = r.set("max", i64::MAX).unwrap();
    let err = r.incr::<_, _, i64>("max", 1).unwrap_err();
    assert!(
        err.to_string()
            .contains("increment or decrement would overflow"),
        "{err}"
    );
    let _: () = r.set("s", "abc").unwrap();
    let err = r.incr::<_, _, i64>("s", 1).unwrap_err();
    assert!(err.to_string().contains("not an integer"), "{err}");
}

#[test]
fn string_size_limit_is_enforced() {
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    assert_eq!(
        c.cmds(&["SETRANGE", "k", "536870911", "xy"]),
        "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"
    );
    assert_eq!(c.cmds(&["EXISTS", "k"]), ":0\r\n");
}

#[test]
fn incrbyfloat_formats_like_redis() {
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    c.cmd(&["SET", "f", "10.50"]);
    assert_eq!(c.cmds(&["INCRBYFLOAT", "f", "0.1"]), "$4\r\n10.6\r\n");
    assert_eq!(c.cmds(&["INCRBYFLOAT", "f", "-5"]), "$3\r\n5.6\r\n");
    c.cmd(&["SET", "g", "5.0e3"]);
    assert_eq!(c.cmds(&["INCRBYFLOAT", "g", "2.0e2"]), "$4\r\n5200\r\n");
}
