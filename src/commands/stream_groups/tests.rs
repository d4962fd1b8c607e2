//! Property test of the group commands over the offline server.

use crate::server::offline::{replies_well_formed, Offline};
use crate::types::Value;

/// A seeded random mix of the group commands (and XADD, XGROUP SETID
/// moving groups back so entries change hands) on a few streams: every
/// reply is well-formed RESP, and after every command each group's PEL
/// agrees with its consumers' PELs.
#[test]
fn random_group_commands_keep_the_pels_consistent() {
    let keys = ["s", "t"];
    let groups = ["g", "h"];
    let consumers = ["a", "b", "c"];
    let ids = ["0", "1-1", "2", "3-0", "5-5", "(1", "-", "+", "$", ">"];
    let mut rng: u64 = 0x5eed_5eed;
    let mut next = |n: usize| {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (rng >> 33) as usize % n
    };
    for resp3 in [false, true] {
        let mut off = Offline::new();
        off.set_resp3(resp3);
        let mut ms = 0;
        // Not vacuous: entries are pending for much of the run.
        let mut pending_seen = 0;
        for _ in 0..3000 {
            let k = keys[next(keys.len())];
            let g = groups[next(groups.len())];
            let c = consumers[next(consumers.len())];
            let id = ids[next(ids.len())];
            let count = ["0", "1", "2", "9223372036854775807"][next(4)];
            let argv: Vec<String> = match next(12) {
                0 | 1 => {
                    ms += 1;
                    vec![
                        "XADD".into(),
                        k.into(),
                        format!("{ms}-{}", next(3)),
                        "f".into(),
                        "v".into(),
                    ]
                }
                2 => vec![
                    "XGROUP".into(),
                    "CREATE".into(),
                    k.into(),
                    g.into(),
                    id.into(),
                    "MKSTREAM".into(),
                ],
                3 => vec![
                    "XGROUP".into(),
                    "SETID".into(),
                    k.into(),
                    g.into(),
                    id.into(),
                ],
                4 => vec![
                    "XREADGROUP".into(),
                    "GROUP".into(),
                    g.into(),
                    c.into(),
                    "COUNT".into(),
                    count.into(),
                    "STREAMS".into(),
                    k.into(),
                    ">".into(),
                ],
                5 => vec![
                    "XREADGROUP".into(),
                    "GROUP".into(),
                    g.into(),
                    c.into(),
                    "NOACK".into(),
                    "STREAMS".into(),
                    k.into(),
                    id.into(),
                ],
                6 => vec!["XACK".into(), k.into(), g.into(), id.into(), "2-0".into()],
                7 => vec![
                    "XCLAIM".into(),
                    k.into(),
                    g.into(),
                    c.into(),
                    "0".into(),
                    id.into(),
                    "3-0".into(),
                    ["FORCE", "JUSTID", "LASTID"][next(3)].into(),
                    "4-0".into(),
                ],
                8 => vec![
                    "XAUTOCLAIM".into(),
                    k.into(),
                    g.into(),
                    c.into(),
                    "0".into(),
                    id.into(),
                    "COUNT".into(),
                    "2".into(),
                ],
                9 => vec![
                    "XGROUP".into(),
                    ["DELCONSUMER", "CREATECONSUMER"][next(2)].into(),
                    k.into(),
                    g.into(),
                    c.into(),
                ],
                10 => vec![
                    "XPENDING".into(),
                    k.into(),
                    g.into(),
                    "-".into(),
                    "+".into(),
                    count.into(),
                    c.into(),
                ],
                _ => vec!["XGROUP".into(), "DESTROY".into(), k.into(), g.into()],
            };
            let args: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
            let out = off.run(&args);
            assert!(replies_well_formed(&out), "{argv:?}: {out:?}");
            for key in keys {
                let Some(obj) = off.srv.ks.dbs[0].dict.get(key.as_bytes()) else {
                    continue;
                };
                let Value::Stream(s) = &obj.value else {
                    continue;
                };
                for (name, g) in &s.groups {
                    assert!(g.pel_consistent(), "{key} {name:?} after {argv:?}");
                    pending_seen += g.pel.len();
                }
            }
        }
        assert!(pending_seen > 1000, "{pending_seen}");
    }
}
