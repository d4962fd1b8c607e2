//! Differential tests for the Lua libraries every script sees (`bit`,
//! `cjson`, `cmsgpack`, `struct`): the same EVAL calls go to RedisLite and
//! to Debian's redis-server 7.0, and the raw replies — values and error
//! texts, including the script and line suffix — must match byte for byte.
//!
//! Binary results are turned into hex inside the script so replies stay
//! readable; configuration calls (cjson.encode_max_depth and friends) live
//! in one script each, since they persist in the Lua state.

use crate::differential::check;

/// EVAL each Lua source (exactly as written) with no keys, on both servers.
fn evals(sources: &[&str]) {
    let mut script = String::new();
    for src in sources {
        let quoted = src.replace('\\', "\\\\").replace('"', "\\\"");
        script.push_str(&format!("EVAL \"{quoted}\" 0\n"));
    }
    check(&script);
}

#[test]
fn bit_library_matches_redis() {
    evals(&[
        r#"local r = {} for k in pairs(bit) do r[#r+1] = k end table.sort(r) return r"#,
        r#"return {bit.tobit(2^31), bit.tobit(2^32+5), bit.tobit(2.5), bit.tobit(-2.5), bit.tobit(1e300), bit.tobit(1/0), bit.tobit('0x10')}"#,
        r#"return {bit.tohex(1), bit.tohex(-1), bit.tohex(255, -4), bit.tohex(255, 2), bit.tohex(1, 0), bit.tohex(0xabcdef, -2^31), bit.tohex(1, 100)}"#,
        r#"return {bit.bnot(5), bit.band(0xff, 0x0f, 0x3c), bit.bor(1), bit.bxor(1, 3, 7), bit.lshift(1, 31), bit.lshift(1, 33), bit.rshift(-1, 28), bit.arshift(-256, 4), bit.rol(0x12345678, 12), bit.ror(0x12345678, 12), bit.bswap(0x12345678)}"#,
        r#"return bit.band()"#,
        r#"return bit.band(1, {})"#,
        r#"local f = bit.bor return f(1, 2, 'z')"#,
        r#"return bit.tohex(1, nil)"#,
        r#"return {pcall(bit.lshift, 1)}"#,
    ]);
}

#[test]
fn struct_library_matches_redis() {
    let hex = "local function hx(s) return (string.gsub(s, '.', function(c) return string.format('%02x', string.byte(c)) end)) end";
    let scripts: &[&str] = &[
        r#"HEX return hx(struct.pack('>bBhHlLTi3I5fd', -1, 255, -2, 65534, -3, 4, 5, -6, 7, 1.5, 2.25))"#,
        r#"HEX return {hx(struct.pack('!4bi', 1, 2)), hx(struct.pack('<i9', 2^63)), hx(struct.pack('<L', -1e20)), hx(struct.pack('s', 'a')), hx(struct.pack('c0', 'abcd'))}"#,
        r#"return {struct.unpack('>hH', '\255\254\255\254')}"#,
        r#"return {struct.unpack('<i9', '\1\2\3\4\5\6\7\8\9')}"#,
        r#"return {struct.unpack('bc0', '\2abc')}"#,
        r#"return {struct.unpack('sb', 'ab\0\5')}"#,
        r#"return {struct.unpack('', 'abc', -1)}"#,
        r#"return {struct.size('!4bi3'), struct.size('!bd'), struct.size('z'), struct.size('c10')}"#,
        r#"return struct.size('s')"#,
        r#"return struct.size('!3b')"#,
        r#"return struct.size('i33')"#,
        r#"return struct.size('c99999999999')"#,
        r#"return struct.pack('z', 1)"#,
        r#"return struct.pack('c5', 'ab')"#,
        r#"return struct.pack('bb', 1)"#,
        r#"return struct.unpack('bb', 'a')"#,
        r#"return struct.unpack('b', 'abc', 0)"#,
        r#"return struct.unpack('c0', 'abc')"#,
        r#"return struct.unpack('s', 'ab')"#,
        r#"return struct.unpack('c2147483647', 'a')"#,
        r#"return select('#', struct.unpack(string.rep('b', 7997), string.rep('a', 8000)))"#,
        r#"return struct.unpack(string.rep('b', 7998), string.rep('a', 8000))"#,
    ];
    let with_hex: Vec<String> = scripts.iter().map(|s| s.replace("HEX", hex)).collect();
    evals(&with_hex.iter().map(String::as_str).collect::<Vec<_>>());
}

#[test]
fn cjson_encode_matches_redis() {
    evals(&[
        r#"local r = {} for k, v in pairs(cjson) do r[#r+1] = k .. ':' .. type(v) end table.sort(r) return r"#,
        r#"return {cjson._NAME, cjson._VERSION}"#,
        r#"return cjson.encode({1, 2, 3, {a = 1}, {}, true, false, 'x'})"#,
        r#"return cjson.encode({1, 2, nil, 4})"#,
        r#"return cjson.encode({[1] = 1, [5] = 5})"#,
        r#"return cjson.encode({[1] = 1, [11] = 5})"#,
        r#"return cjson.encode({[2^53] = 1, [0] = 2, x = 3, [1.5] = 4})"#,
        r#"return cjson.encode({1/3, 0.1, 1e300, 123456789012345678, -0.0, 1e15, 1e-5, 2^53})"#,
        r#"return cjson.encode('a/b"\\\b\f\n\r\t\0\1\31\127')"#,
        r#"return cjson.encode({[true] = 1})"#,
        r#"return cjson.encode(1/0)"#,
        r#"return cjson.encode(cjson.encode)"#,
        r#"return cjson.encode()"#,
        r#"return cjson.encode(cjson.null)"#,
        r#"local t = {} t[1] = t return cjson.encode(t)"#,
        r#"local t = {} local c = t for i = 2, 1000 do c[1] = {} c = c[1] end return #cjson.encode(t)"#,
        r#"local t = {} t.a = 1 t.b = {1, 2} t.c = 'x' t.d = {e = {f = cjson.null}} return cjson.encode(t)"#,
        r#"return {cjson.encode_sparse_array(), cjson.encode_max_depth(), cjson.encode_number_precision(), cjson.encode_keep_buffer()}"#,
        r#"cjson.encode_number_precision(3) local s = cjson.encode({1/3, 1234567}) cjson.encode_number_precision(14) return s"#,
        r#"cjson.encode_invalid_numbers('null') local s = cjson.encode({1/0, 0/0}) cjson.encode_invalid_numbers(false) return s"#,
        r#"cjson.encode_sparse_array(true) local s = cjson.encode({[1] = 1, [20] = 2}) cjson.encode_sparse_array(false) return s"#,
        r#"return cjson.encode_max_depth(0)"#,
        r#"return cjson.encode_sparse_array(1, 2, 3, 4)"#,
        r#"return cjson.encode_sparse_array('x')"#,
        r#"return cjson.encode_number_precision(15)"#,
        r#"return cjson.new().encode({1})"#,
    ]);
}

#[test]
fn cjson_decode_matches_redis() {
    evals(&[
        r#"return cjson.decode('[1,2,3,"x",true,false]')"#,
        r#"local t = cjson.decode('{"a":1,"b":[1,null,3],"c":{}}') return {t.a, #t.b, t.b[2] == cjson.null, type(t.c)}"#,
        r#"return cjson.decode('"\\u00e9\\u20ac\\ud83d\\ude00\\/\\n"')"#,
        r#"return {cjson.decode('0x10'), cjson.decode('1.5e3'), cjson.decode(' 3 '), tostring(cjson.decode('1e400'))}"#,
        r#"return cjson.decode('')"#,
        r#"return cjson.decode('x')"#,
        r#"return cjson.decode('[1,]')"#,
        r#"return cjson.decode('[1 2]')"#,
        r#"return cjson.decode('{"a" 1}')"#,
        r#"return cjson.decode('{1:2}')"#,
        r#"return cjson.decode('"abc')"#,
        r#"return cjson.decode('"\\ud83d"')"#,
        r#"return cjson.decode('"a\\x"')"#,
        r#"return cjson.decode('1 2')"#,
        r#"return cjson.decode('truex')"#,
        r#"return cjson.decode('-')"#,
        r#"return cjson.decode({})"#,
        r#"return cjson.decode('1', 2)"#,
        r#"return cjson.decode(string.rep('[', 1001))"#,
        r#"return cjson.decode(string.rep('{"a":', 1001))"#,
        r#"return {pcall(cjson.decode, '[')}"#,
        r#"cjson.decode_invalid_numbers(false) local ok, e = pcall(cjson.decode, '0x10') cjson.decode_invalid_numbers(true) return e"#,
    ]);
}

#[test]
fn cmsgpack_matches_redis() {
    let hex = "local function hx(s) return (string.gsub(s, '.', function(c) return string.format('%02x', string.byte(c)) end)) end";
    let scripts: &[&str] = &[
        r#"local r = {} for k, v in pairs(cmsgpack) do r[#r+1] = k .. ':' .. type(v) end table.sort(r) return r"#,
        r#"return {cmsgpack._NAME, cmsgpack._VERSION, cmsgpack._COPYRIGHT, cmsgpack._DESCRIPTION}"#,
        r#"HEX return hx(cmsgpack.pack(0, 127, 128, 256, 65536, 2^32, -1, -33, -129, -32769, -2^31-1, 2^63, -2^63))"#,
        r#"HEX return hx(cmsgpack.pack(1.5, 0.1, -0.0, 1/0, true, false, nil, cjson.null, 'abc', string.rep('x', 40)))"#,
        r#"HEX return hx(cmsgpack.pack({}, {1, 2, 3}, {a = 1}, {1, 2, nil, 4}, {[0] = 1}, {1, x = 2}))"#,
        r#"HEX local t = {} t[1] = t return hx(cmsgpack.pack(t))"#,
        r#"return cmsgpack.pack()"#,
        r#"return {cmsgpack.unpack(cmsgpack.pack(1, 'a', {1, 2}, -5))}"#,
        r#"return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 1)}"#,
        r#"return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}"#,
        r#"return {cmsgpack.unpack_one('')}"#,
        r#"return {cmsgpack.unpack('\207\255\255\255\255\255\255\255\255')}"#,
        r#"return cmsgpack.unpack('\193')"#,
        r#"return cmsgpack.unpack('\221\255\255\255\255')"#,
        r#"return cmsgpack.unpack('\219\255\255\255\255abc')"#,
        r#"return cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 4)"#,
        r#"return cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), -1)"#,
        r#"return cmsgpack.unpack_limit('\1')"#,
        r#"return cmsgpack.unpack('\129\192\1')"#,
        r#"return select('#', cmsgpack.unpack(string.rep('\1', 7999)))"#,
        r#"return cmsgpack.unpack(string.rep('\1', 8000))"#,
        r#"return cmsgpack.unpack(string.rep('\145', 4000) .. '\1')"#,
    ];
    let with_hex: Vec<String> = scripts.iter().map(|s| s.replace("HEX", hex)).collect();
    evals(&with_hex.iter().map(String::as_str).collect::<Vec<_>>());
}
