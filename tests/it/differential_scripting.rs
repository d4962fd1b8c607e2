//! Differential tests for Lua scripting (EVAL, EVALSHA, EVAL_RO,
//! EVALSHA_RO, SCRIPT): every script runs against RedisLite and Debian's
//! redis-server 7.0 and the raw replies must match byte for byte.
//!
//! Covered: Lua <-> RESP conversions both ways (RESP2 and RESP3 callers,
//! `redis.setresp(3)` scripts), error texts with their `script: <sha>, on
//! @user_script:N.` suffix, `redis.pcall` and `pcall(redis.call ...)`,
//! the `redis.*` helpers' argument errors, the sandbox, `math.random` on
//! a fresh server, KEYS/ARGV and numkeys, the script cache commands,
//! shebang flags and EVAL_RO, SELECT inside a script, commands with
//! special behaviour in scripts, MULTI/EXEC and WATCH, INFO errorstats
//! and commandstats after failing scripts, ACL refusals, MONITOR, keyspace
//! notifications and CLIENT LIST/INFO.
//!
//! Not here: `bit`, `cjson`, `cmsgpack`, `struct` (their own tests), and
//! `error({})` / `error()` / error tables without `err`, which crash
//! redis-server 7.0.15 (tests/it/scripting.rs checks ours survives).
//! Randomness (SPOP, SRANDMEMBER, RANDOMKEY) is run but not compared.

use crate::common::{Conn, ServerProc};
use crate::differential::{check, split};

#[test]
fn lua_values_become_replies_like_redis() {
    check(
        r##"
        EVAL "return nil" 0
        EVAL "return false" 0
        EVAL "return true" 0
        EVAL "return 3.99" 0
        EVAL "return -3.99" 0
        EVAL "return 1e300" 0
        EVAL "return 0/0" 0
        EVAL "return {1/0, -1/0}" 0
        EVAL "return 'str'" 0
        EVAL "return ''" 0
        EVAL "return {1,2,nil,4}" 0
        EVAL "return {[1]=1,[3]=3}" 0
        EVAL "return {a=1}" 0
        EVAL "return {1,{2,{3,'x'}},'y'}" 0
        EVAL "return {'a', true, false, 'b'}" 0
        EVAL "return {ok='fine'}" 0
        EVAL "return {ok=''}" 0
        EVAL "return {ok='x\r\ny'}" 0
        EVAL "return {err='bad thing'}" 0
        EVAL "return {err='-bad thing'}" 0
        EVAL "return {err='x\r\ny'}" 0
        EVAL "return {err=''}" 0
        EVAL "return {ok='a', err='b'}" 0
        EVAL "return {ok=1}" 0
        EVAL "return {err=1}" 0
        EVAL "return {1,{err='inner'},3}" 0
        EVAL "return {1,redis.error_reply('inner'),redis.status_reply('st')}" 0
        EVAL "return {double=3.5}" 0
        EVAL "return {double='3.5'}" 0
        EVAL "return {double={}}" 0
        EVAL "return {double=1/0}" 0
        EVAL "return {double=0.1}" 0
        EVAL "return {double=1e300}" 0
        EVAL "return {map={a=1}}" 0
        EVAL "return {map={}}" 0
        EVAL "return {map=1}" 0
        EVAL "return {set={a=true}}" 0
        EVAL "return {set={}}" 0
        EVAL "return {big_number='123'}" 0
        EVAL "return {big_number=5}" 0
        EVAL "return {verbatim_string={format='txt',string='hi'}}" 0
        EVAL "return {verbatim_string={format='txt'}}" 0
        EVAL "return {verbatim_string={format='toolong',string='x'}}" 0
        EVAL "return function() end" 0
        EVAL "return coroutine.create(function() end)" 0
        EVAL "return {1, function() end, 3}" 0
        EVAL "return {true, false}" 0
        EVAL "redis.setresp(3); return {true, false}" 0
        EVAL "redis.setresp(3); return nil" 0
        EVAL "redis.setresp(3); return {double=1.5}" 0
        EVAL "redis.setresp(3); return {map={a=1,b={1,2}}}" 0
        EVAL "redis.setresp(3); return {set={a=true,b=false}}" 0
        EVAL "redis.setresp(3); return {big_number='12345678901234567890'}" 0
        EVAL "redis.setresp(3); return {verbatim_string={format='txt',string='hello'}}" 0
        EVAL "redis.setresp(3); return {double=0/0}" 0
        "##,
    );
}

/// The same conversions for a RESP3 caller: maps, sets, doubles, big
/// numbers, verbatim strings and booleans keep their RESP3 types.
#[test]
fn lua_values_become_resp3_replies_like_redis() {
    check(
        r##"
        ~HELLO 3
        EVAL "return nil" 0
        EVAL "return false" 0
        EVAL "return true" 0
        EVAL "return {1,2,nil,4}" 0
        EVAL "return {'a', true, false, 'b'}" 0
        EVAL "return {ok='fine'}" 0
        EVAL "return {1,{err='inner'},3}" 0
        EVAL "return {double=3.5}" 0
        EVAL "return {double=1/0}" 0
        EVAL "return {double=-1/0}" 0
        EVAL "return {map={a=1}}" 0
        EVAL "return {map={a={1,{map={b=2}}}}}" 0
        EVAL "return {set={a=true}}" 0
        EVAL "return {big_number='123'}" 0
        EVAL "return {verbatim_string={format='txt',string='hi'}}" 0
        EVAL "return {verbatim_string={format='toolong',string='x'}}" 0
        EVAL "return {verbatim_string={format='ab',string='x'}}" 0
        EVAL "return {verbatim_string={format='',string='x'}}" 0
        EVAL "return {true, false}" 0
        EVAL "redis.setresp(3); return {true, false}" 0
        EVAL "redis.setresp(3); return nil" 0
        EVAL "redis.setresp(3); return {double=0/0}" 0
        EVAL "redis.setresp(2); return {true, false}" 0
        "##,
    );
}

/// Command replies as a script sees them, in both script protocols, for
/// RESP2 and RESP3 callers (the caller's protocol must not leak in).
#[test]
fn replies_become_lua_values_like_redis() {
    let body = r##"
        HSET h a 1 b 2
        SADD s x
        ZADD z 1.5 m
        SET str v
        EVAL "return redis.call('hgetall','nokey')" 0
        EVAL "return redis.call('hgetall','h')" 0
        EVAL "redis.setresp(3); return redis.call('hgetall','h')" 0
        EVAL "redis.setresp(3); local r = redis.call('hgetall','h'); return r.map.a" 0
        EVAL "redis.setresp(3); return redis.call('smembers','s')" 0
        EVAL "redis.setresp(3); local r = redis.call('smembers','s'); return type(r.set)" 0
        EVAL "redis.setresp(3); return redis.call('zscore','z','m')" 0
        EVAL "redis.setresp(3); local r = redis.call('zscore','z','m'); return {type(r), r.double}" 0
        EVAL "return redis.call('zscore','z','m')" 0
        EVAL "return redis.call('zrange','z',0,-1,'withscores')" 0
        EVAL "redis.setresp(3); return redis.call('zrange','z',0,-1,'withscores')" 0
        EVAL "redis.setresp(3); return redis.call('get','nokey')" 0
        EVAL "redis.setresp(3); return redis.call('get','nokey') == nil" 0
        EVAL "return redis.call('get','nokey') == false" 0
        EVAL "return redis.call('lpop','nokey')" 0
        EVAL "redis.setresp(3); return redis.call('lpop','nokey', 2)" 0
        EVAL "return redis.call('lpop','nokey', 2)" 0
        EVAL "return redis.call('ping')" 0
        EVAL "return redis.call('set','str','v')" 0
        EVAL "return redis.call('type','str')" 0
        EVAL "return redis.call('type','str').ok" 0
        EVAL "return redis.call('exists','str')" 0
        EVAL "return redis.call('incrbyfloat','fl','1.5')" 0
        EVAL "redis.setresp(3); return redis.call('debug','protocol','bignum')" 0
        EVAL "redis.setresp(3); local r = redis.call('debug','protocol','bignum'); return r.big_number" 0
        EVAL "redis.setresp(3); return redis.call('debug','protocol','verbatim')" 0
        EVAL "redis.setresp(3); local r = redis.call('debug','protocol','verbatim'); return {r.verbatim_string.format, r.verbatim_string.string}" 0
        EVAL "redis.setresp(3); return redis.call('debug','protocol','true')" 0
        EVAL "redis.setresp(3); return redis.call('debug','protocol','false')" 0
        EVAL "redis.setresp(3); return redis.call('debug','protocol','null')" 0
        EVAL "redis.setresp(3); return redis.call('debug','protocol','double')" 0
        EVAL "redis.setresp(3); return redis.call('debug','protocol','attrib')" 0
        EVAL "redis.setresp(3); return redis.call('debug','protocol','map')" 0
        EVAL "redis.setresp(3); return redis.call('debug','protocol','set')" 0
        EVAL "return redis.call('debug','protocol','bignum')" 0
        EVAL "return redis.call('debug','protocol','verbatim')" 0
        EVAL "return redis.call('debug','protocol','true')" 0
        EVAL "return redis.call('debug','protocol','false')" 0
        EVAL "return redis.call('debug','protocol','double')" 0
        EVAL "return redis.call('debug','protocol','map')" 0
        EVAL "return redis.call('debug','protocol','set')" 0
        EVAL "return redis.call('debug','protocol','attrib')" 0
        EVAL "return redis.call('debug','protocol','null')" 0
        EVAL "return redis.pcall('incr','str')" 0
        EVAL "return {redis.pcall('incr','str')}" 0
        EVAL "return type(redis.pcall('incr','str'))" 0
        EVAL "return redis.pcall('incr','str')['err']" 0
        EVAL "local t = redis.pcall('incr','str'); local r = {} for k,v in pairs(t) do table.insert(r,k) table.insert(r,tostring(v)) end table.sort(r) return r" 0
        EVAL "local t = redis.pcall('nosuch'); local r = {} for k,v in pairs(t) do table.insert(r,k) table.insert(r,tostring(v)) end table.sort(r) return r" 0
        EVAL "local t = redis.pcall('get',{}); local r = {} for k,v in pairs(t) do table.insert(r,k) table.insert(r,tostring(v)) end table.sort(r) return r" 0
        EVAL "local t = redis.pcall(); local r = {} for k,v in pairs(t) do table.insert(r,k) table.insert(r,tostring(v)) end table.sort(r) return r" 0
        EVAL "local t = redis.error_reply('x'); local r = {} for k,v in pairs(t) do table.insert(r,k) table.insert(r,tostring(v)) end table.sort(r) return r" 0
        EVAL "redis.call('set','n',3.5); return redis.call('get','n')" 0
        EVAL "redis.call('set','n',1e20); return redis.call('get','n')" 0
        EVAL "redis.call('set','n',0.1); return redis.call('get','n')" 0
        EVAL "redis.call('set','n',-0); return redis.call('get','n')" 0
        EVAL "redis.call('set','n',1/3); return redis.call('get','n')" 0
        EVAL "redis.call('set','n',2^53); return redis.call('get','n')" 0
        EVAL "redis.call('set','n',1/0); return redis.call('get','n')" 0
        "##;
    check(body);
    check(&format!("~HELLO 3\n{body}"));
}

#[test]
fn script_errors_match_redis() {
    check(
        r##"
        SET str v
        RPUSH lst a
        EVAL "return 1 +" 0
        EVAL "return x" 0
        EVAL "x = 1" 0
        EVAL "local t = nil; return t.x" 0
        EVAL "error('boom')" 0
        EVAL "error('boom', 0)" 0
        EVAL "error('boom', 2)" 0
        EVAL "error(42)" 0
        EVAL "error(42.5)" 0
        EVAL "error({err='custom'})" 0
        EVAL "error({err='-custom'})" 0
        EVAL "error({err='ERR custom'})" 0
        EVAL "error(true)" 0
        EVAL "return redis.call('incr','str')" 0
        EVAL "redis.call('incr','str')" 0
        EVAL "local x = redis.call('incr','str'); return x" 0
        EVAL "\n\nredis.call('incr','str')\nreturn 1" 0
        EVAL "local function f()\n  return redis.call('incr','str')\nend\nreturn f()" 0
        EVAL "local function f()\n  error('deep')\nend\n\nf()" 0
        EVAL "\n\n\nreturn 1 +" 0
        EVAL "return redis.call('lpush','str','x')" 0
        EVAL "return redis.call('get','lst')" 0
        EVAL "return redis.call('nosuch')" 0
        EVAL "return redis.call('get')" 0
        EVAL "return redis.call('get','a','b')" 0
        EVAL "return redis.call('config')" 0
        EVAL "return redis.call('config','nosuch')" 0
        EVAL "return redis.call('config','get')" 0
        EVAL "return redis.call('object','nosuch')" 0
        EVAL "return redis.call()" 0
        EVAL "return redis.pcall()" 0
        EVAL "return redis.call({})" 0
        EVAL "return redis.call('get',{})" 0
        EVAL "return redis.call('get',nil)" 0
        EVAL "return redis.call('get',true)" 0
        EVAL "return redis.pcall('get',{})" 0
        EVAL "return redis.pcall('nosuch')" 0
        EVAL "return pcall(redis.call,'incr','str')" 0
        EVAL "return {pcall(redis.call,'incr','str')}" 0
        EVAL "local ok, e = pcall(redis.call,'incr','str'); return e" 0
        EVAL "local ok, e = pcall(redis.call,'incr','str'); return type(e)" 0
        EVAL "local ok, e = pcall(error, 'x'); return e" 0
        EVAL "local ok, e = pcall(error, {err='x'}); return e" 0
        EVAL "local ok, e = pcall(error, {err='x'}); return type(e)" 0
        EVAL "local ok, e = pcall(error, {foo='x'}); return type(e)" 0
        EVAL "local ok, e = pcall(function() local a = nil; return a.b end); return e" 0
        EVAL "local ok, e = pcall(function() return nosuchglobal end); return e" 0
        EVAL "local ok, e = pcall(error, {err='x', foo='y'}); return {ok and 1 or 0, e}" 0
        EVAL "return {redis.pcall('incr','str')}" 0
        EVAL "error(redis.pcall('incr','str'))" 0
        EVAL "return redis.error_reply('WRONGTYPE x')" 0
        EVAL "return {err='WRONGTYPE x'}" 0
        EVAL "redis.call('set','k','v'); error('after write')" 0
        GET k
        "##,
    );
}

#[test]
fn redis_library_helpers_match_redis() {
    check(
        r##"
        EVAL "return redis.error_reply('My Error')" 0
        EVAL "return redis.error_reply('-My Error')" 0
        EVAL "return redis.error_reply('')" 0
        EVAL "return redis.error_reply('-')" 0
        EVAL "return redis.error_reply()" 0
        EVAL "return redis.error_reply(1)" 0
        EVAL "return redis.error_reply('a','b')" 0
        EVAL "return redis.status_reply('OK')" 0
        EVAL "return redis.status_reply()" 0
        EVAL "return redis.status_reply(1)" 0
        EVAL "return redis.status_reply('')" 0
        EVAL "return redis.status_reply('a','b')" 0
        EVAL "return redis.sha1hex()" 0
        EVAL "return redis.sha1hex('a','b')" 0
        EVAL "return redis.sha1hex('')" 0
        EVAL "return redis.sha1hex(0.1)" 0
        EVAL "return redis.sha1hex(12)" 0
        EVAL "return redis.sha1hex({})" 0
        EVAL "return redis.sha1hex(nil)" 0
        EVAL "return redis.log()" 0
        EVAL "return redis.log(1)" 0
        EVAL "return redis.log('x','y')" 0
        EVAL "return redis.log('1','y')" 0
        EVAL "return redis.log(9,'y')" 0
        EVAL "return redis.log(-1,'y')" 0
        EVAL "return redis.log(1.5,'y')" 0
        EVAL "return redis.log(redis.LOG_WARNING,'y', {}, 3)" 0
        EVAL "return redis.setresp()" 0
        EVAL "return redis.setresp(1)" 0
        EVAL "return redis.setresp('3')" 0
        EVAL "return redis.setresp(2.5)" 0
        EVAL "return redis.setresp({})" 0
        EVAL "return redis.setresp(2,3)" 0
        EVAL "return redis.set_repl()" 0
        EVAL "return redis.set_repl(4)" 0
        EVAL "return redis.set_repl(-1)" 0
        EVAL "return redis.set_repl('1')" 0
        EVAL "return redis.set_repl(1.5)" 0
        EVAL "return redis.set_repl({})" 0
        EVAL "return redis.set_repl(1,2)" 0
        EVAL "return redis.acl_check_cmd()" 0
        EVAL "return redis.acl_check_cmd('nosuch')" 0
        EVAL "return redis.acl_check_cmd('get')" 0
        EVAL "return redis.acl_check_cmd('get','a')" 0
        EVAL "return redis.acl_check_cmd('get','a','b')" 0
        EVAL "return redis.acl_check_cmd({})" 0
        EVAL "return redis.acl_check_cmd('config','nosuch')" 0
        EVAL "return redis.acl_check_cmd('config','get','x')" 0
        EVAL "return redis.acl_check_cmd('set',1.5)" 0
        EVAL "return redis.replicate_commands()" 0
        EVAL "return redis.breakpoint()" 0
        EVAL "return redis.debug('x')" 0
        EVAL "return redis.REDIS_VERSION" 0
        EVAL "return redis.REDIS_VERSION_NUM" 0
        EVAL "return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL}" 0
        EVAL "return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}" 0
        EVAL "local t = {} for k in pairs(redis) do table.insert(t, k) end table.sort(t) return t" 0
        "##,
    );
}

#[test]
fn sandbox_matches_redis() {
    check(
        r##"
        EVAL "local t = {} for k in pairs(string) do table.insert(t, k) end table.sort(t) return t" 0
        EVAL "local t = {} for k in pairs(math) do table.insert(t, k) end table.sort(t) return t" 0
        EVAL "local t = {} for k in pairs(table) do table.insert(t, k) end table.sort(t) return t" 0
        EVAL "local t = {} for k in pairs(coroutine) do table.insert(t, k) end table.sort(t) return t" 0
        EVAL "local t = {} for k,v in pairs(_G) do if type(v) == 'function' then table.insert(t, k) end end table.sort(t) return t" 0
        EVAL "return {type(_G.string), type(_G.table), type(_G.math), type(_G.redis), type(_G.KEYS), type(_G.ARGV)}" 0
        EVAL "return _VERSION" 0
        EVAL "string.x = 1" 0
        EVAL "string.format = 1" 0
        EVAL "redis.call = 1" 0
        EVAL "math.random = 1" 0
        EVAL "table.insert = nil" 0
        EVAL "coroutine.x = 1" 0
        EVAL "_G.x = 1" 0
        EVAL "rawset(_G, 'x', 1)" 0
        EVAL "rawset(string, 'x', 1)" 0
        EVAL "rawset(redis, 'x', 1)" 0
        EVAL "table.insert(string, 'x')" 0
        EVAL "table.insert(_G, 1)" 0
        EVAL "table.remove(string)" 0
        EVAL "table.sort(_G)" 0
        EVAL "return rawget(_G, 'nosuch')" 0
        EVAL "setmetatable(_G, nil)" 0
        EVAL "setmetatable(string, nil)" 0
        EVAL "return getmetatable(_G).__index ~= nil" 0
        EVAL "getmetatable(_G).__index = nil" 0
        EVAL "return getmetatable(string)" 0
        EVAL "return getmetatable(redis)" 0
        EVAL "return getmetatable('').__index == string" 0
        EVAL "return rawequal(string, getmetatable('').__index)" 0
        EVAL "getmetatable('').__index.upper = 1" 0
        EVAL "local mt = getmetatable(''); mt.__index = nil" 0
        EVAL "return ('abc'):upper()" 0
        EVAL "local t = setmetatable({}, {__index = string}); return t.upper('a')" 0
        EVAL "local t = {}; rawset(t, 'a', 1); setmetatable(t, {}); table.insert(t, 2); return {t.a, t[1]}" 0
        EVAL "return rawset({}, 1)" 0
        EVAL "return setmetatable({})" 0
        EVAL "local t = {} for k in pairs(os) do table.insert(t, k) end return t" 0
        EVAL "return print" 0
        EVAL "return nosuch" 0
        EVAL "return _G.nosuch" 0
        EVAL "return dofile" 0
        EVAL "return loadfile" 0
        EVAL "return os" 0
        EVAL "return io" 0
        EVAL "return debug" 0
        EVAL "return require" 0
        EVAL "return module" 0
        EVAL "return newproxy" 0
        EVAL "return getfenv" 0
        EVAL "return setfenv" 0
        EVAL "return package" 0
        EVAL "return collectgarbage('count') > 0" 0
        EVAL "return {type(unpack), type(select), type(tostring), type(xpcall), type(gcinfo)}" 0
        EVAL "return loadstring('return 1')()" 0
        EVAL "return loadstring('\x1bLua')" 0
        EVAL "return {loadstring('\x1bLua')}" 0
        EVAL "return {loadstring('return +')}" 0
        EVAL "return {loadstring('return +', 'name')}" 0
        EVAL "return string.dump" 0
        EVAL "return {load(function() return nil end)}" 0
        EVAL "local s = 'return 5'; local f = load(function() local x = s; s = nil; return x end); return f()" 0
        EVAL "x = 1" 0
        EVAL "return x" 0
        EVAL "local x = 1; return x" 0
        "##,
    );
}

/// math.random draws from one sequence that starts where Redis's starts
/// on a fresh server (each `check` starts both servers fresh), continues
/// across scripts, and is reset by math.randomseed.
#[test]
fn math_random_matches_redis_on_fresh_servers() {
    check(
        r##"
        EVAL "local t = {} for i=1,5 do t[i] = math.random(1000) end return t" 0
        EVAL "local t = {} for i=1,5 do t[i] = math.random(1000) end return t" 0
        EVAL "return tostring(math.random())" 0
        EVAL "return math.random(5, 10)" 0
        EVAL "return math.random(-3, -1)" 0
        EVAL "return math.random(0)" 0
        EVAL "return math.random(2,1)" 0
        EVAL "return math.random(1,2,3)" 0
        EVAL "return math.random('x')" 0
        EVAL "math.randomseed(42); return {math.random(100), math.random(100)}" 0
        EVAL "math.randomseed('x')" 0
        SCRIPT FLUSH
        EVAL "return math.random(1000)" 0
        "##,
    );
}

#[test]
fn keys_argv_and_numkeys_match_redis() {
    check(
        r##"
        EVAL "return #KEYS + #ARGV" 2 a b c
        EVAL "return {KEYS, ARGV}" 2 a b c d
        EVAL "return {KEYS, ARGV}" 0
        EVAL "return {KEYS[1], ARGV[1]}" 1 "" ""
        EVAL "return 1" -1
        EVAL "return 1" 2 a
        EVAL "return 1" x
        EVAL "return 1" 9223372036854775808
        EVAL "return 1" 1.0
        EVAL "return 1"
        EVAL
        EVALSHA
        EVAL_RO "return 1"
        EVAL "return 1" " 1" a
        "##,
    );
}

#[test]
fn script_cache_commands_match_redis() {
    check(
        r##"
        EVALSHA ffffffffffffffffffffffffffffffffffffffff 0
        EVALSHA FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF 0
        EVALSHA short 0
        EVALSHA e0e1f9fabfc9d4800c877a703b823ac0578ff8db 0
        EVALSHA e0e1f9fabfc9d4800c877a703b823ac0578ff8db x
        SCRIPT LOAD "return 1"
        SCRIPT LOAD "return +"
        EVALSHA e0e1f9fabfc9d4800c877a703b823ac0578ff8db 0
        EVALSHA E0E1F9FABFC9D4800C877A703B823AC0578FF8DB 0
        EVALSHA e0e1f9fabfc9d4800c877a703b823ac0578ff8db -1
        SCRIPT EXISTS e0e1f9fabfc9d4800c877a703b823ac0578ff8db E0E1F9FABFC9D4800C877A703B823AC0578FF8DB nope
        SCRIPT EXISTS
        EVAL "return 2" 0
        SCRIPT EXISTS 7f923f79fe76194c868d7e1d0820de36700eb649
        EVALSHA 7f923f79fe76194c868d7e1d0820de36700eb649 0
        SCRIPT FLUSH x
        SCRIPT FLUSH sync async
        SCRIPT FLUSH ASYNC
        SCRIPT EXISTS e0e1f9fabfc9d4800c877a703b823ac0578ff8db 7f923f79fe76194c868d7e1d0820de36700eb649
        SCRIPT LOAD "return 1"
        SCRIPT FLUSH SYNC
        SCRIPT EXISTS e0e1f9fabfc9d4800c877a703b823ac0578ff8db
        SCRIPT LOAD "return 1"
        SCRIPT FLUSH
        SCRIPT EXISTS e0e1f9fabfc9d4800c877a703b823ac0578ff8db
        SCRIPT HELP
        SCRIPT help x
        SCRIPT
        SCRIPT nosuch
        SCRIPT LOAD
        SCRIPT LOAD a b
        SCRIPT KILL
        SCRIPT KILL x
        SCRIPT DEBUG
        SCRIPT DEBUG maybe
        SCRIPT DEBUG no
        SCRIPT LOAD "#!lua flags=bogus\nreturn 1"
        SCRIPT LOAD "#!lua flags=no-writes\nreturn 1"
        EVALSHA_RO 6b1bf486c81ceb7edf3c093f4c48582e38c0e791 0
        EVALSHA_RO ffffffffffffffffffffffffffffffffffffffff 0
        "##,
    );
}

#[test]
fn shebang_flags_and_read_only_scripts_match_redis() {
    check(
        r##"
        EVAL "#!lua\nreturn 1" 0
        EVAL "#!lua\n\nerror('line three')" 0
        EVAL "#!lua flags=no-writes\nreturn redis.call('set','x','1')" 0
        EVAL "#!lua flags=no-writes\nreturn redis.call('get','x')" 0
        EVAL "#!lua flags=bogus\nreturn 1" 0
        EVAL "#!lua name=x\nreturn 1" 0
        EVAL "#!luax\nreturn 1" 0
        EVAL "#!lua" 0
        EVAL "#!lua flags=no-writes,allow-oom\nreturn 1" 0
        EVAL "#!lua flags=allow-stale,no-cluster,allow-cross-slot-keys\nreturn 1" 0
        EVAL "#!lua flags=no-writes\nerror('x')" 0
        EVAL "#!lua\nreturn redis.call('set','x','1')" 1 x
        EVAL "#!lua\nreturn redis.call('set','x','1')" 0
        EVAL "#!lua\nreturn KEYS[1]" 1 x
        EVAL " #!lua\nreturn 1" 0
        EVAL_RO "return redis.call('set','x','1')" 1 x
        EVAL_RO "return redis.call('get','x')" 1 x
        EVAL_RO "return redis.pcall('set','x','1')" 1 x
        EVAL_RO "return redis.pcall('del','x')" 0
        EVAL_RO "return 1 +" 0
        EVAL_RO "return 1" -1
        EVAL_RO "#!lua\nreturn redis.call('set','x','2')" 0
        SCRIPT LOAD "return redis.call('set','y','2')"
        EVALSHA_RO 9f3b5f0bf82bea8bd8d9d3c9f2a07df26e6ffd2e 0
        GET y
        EVALSHA 9f3b5f0bf82bea8bd8d9d3c9f2a07df26e6ffd2e 0
        GET y
        "##,
    );
}

/// SELECT inside a script changes the script's database only (Redis 7.0:
/// the caller's database is restored after the script).
#[test]
fn select_inside_a_script_matches_redis() {
    check(
        r##"
        EVAL "redis.call('select', 1); redis.call('set','indb1','v'); return redis.call('dbsize')" 0
        DBSIZE
        EXISTS indb1
        SELECT 1
        EXISTS indb1
        EVAL "redis.call('select', 0); return redis.call('exists','indb1')" 0
        EXISTS indb1
        EVAL "return redis.call('select', 99)" 0
        EVAL "return redis.call('select', 'x')" 0
        EVAL "return redis.call('select', 2, 3)" 0
        EVAL "redis.call('select', 2); return redis.call('client','info') ~= nil" 0
        SELECT 0
        "##,
    );
}

/// Commands that behave differently from a script: blocking commands
/// answer at once, XREAD BLOCK is refused, NOSCRIPT commands are refused.
#[test]
fn special_commands_inside_scripts_match_redis() {
    check(
        r##"
        RPUSH lst a
        EVAL "return redis.call('blpop','lst',0)" 0
        EVAL "return redis.call('blpop','nolst',0)" 0
        EVAL "return redis.call('brpop','nolst',1)" 0
        EVAL "return redis.call('brpoplpush','nolst','x',0)" 0
        EVAL "return redis.call('blmove','nolst','x','left','left',0)" 0
        EVAL "return redis.call('bzpopmin','nz',0)" 0
        EVAL "return redis.call('bzpopmax','nz',0)" 0
        EVAL "return redis.call('bzmpop',0,1,'nz','min')" 0
        EVAL "return redis.call('blmpop',0,1,'nolst','left')" 0
        EVAL "return redis.call('xread','BLOCK',0,'streams','s','$')" 0
        EVAL "return redis.call('xread','count',1,'block',0,'streams','s','$')" 0
        EVAL "return redis.call('xread','streams','s','$')" 0
        EVAL "return redis.call('xreadgroup','group','g','c','block',0,'streams','s','>')" 0
        EVAL "return redis.call('wait',0,0)" 0
        SADD myset a b c d e f g h
        ~EVAL "return redis.call('spop','myset')" 0
        ~EVAL "return redis.call('srandmember','myset')" 0
        ~EVAL "return redis.call('randomkey')" 0
        EVAL "return redis.call('scard','myset')" 0
        EVAL "return type(redis.call('time')[1])" 0
        EVAL "return #redis.call('time')" 0
        EVAL "return redis.call('client','info') ~= nil" 0
        EVAL "return redis.call('client','setname','x')" 0
        EVAL "return redis.call('client','getname')" 0
        EVAL "return redis.call('client','reply','off')" 0
        EVAL "return redis.call('client','kill','id','99999')" 0
        EVAL "return redis.call('client','no-evict','on')" 0
        EVAL "return redis.call('client','tracking','on')" 0
        EVAL "return redis.call('client','pause','10')" 0
        EVAL "return redis.call('client','unpause')" 0
        EVAL "return redis.call('client','list') ~= nil" 0
        EVAL "return redis.call('client','id') ~= nil" 0
        EVAL "return redis.call('multi')" 0
        EVAL "return redis.call('exec')" 0
        EVAL "return redis.call('discard')" 0
        EVAL "return redis.call('watch','x')" 0
        EVAL "return redis.call('unwatch')" 0
        EVAL "return redis.call('subscribe','c')" 0
        EVAL "return redis.call('ssubscribe','c')" 0
        EVAL "return redis.call('punsubscribe')" 0
        EVAL "return redis.call('eval','return 1','0')" 0
        EVAL "return redis.call('evalsha','x',0)" 0
        EVAL "return redis.call('eval_ro','return 1',0)" 0
        EVAL "return redis.call('script','load','return 1')" 0
        EVAL "return redis.call('script','exists','x')" 0
        EVAL "return redis.call('script','flush')" 0
        EVAL "return redis.call('auth','x')" 0
        EVAL "return redis.call('auth','a','b')" 0
        EVAL "return redis.call('hello')" 0
        EVAL "return redis.call('hello','3')" 0
        EVAL "return redis.call('quit')" 0
        EVAL "return redis.call('reset')" 0
        EVAL "return redis.call('monitor')" 0
        EVAL "return redis.call('shutdown')" 0
        EVAL "return redis.call('save')" 0
        EVAL "return redis.call('bgsave')" 0
        EVAL "return redis.call('sync')" 0
        EVAL "return redis.call('psync','x','1')" 0
        EVAL "return redis.call('replicaof','no','one')" 0
        EVAL "return redis.call('debug','sleep','0')" 0
        EVAL "return redis.call('config','set','maxmemory','0')" 0
        EVAL "return redis.call('publish','ch','m')" 0
        EVAL "return redis.call('echo','x')" 0
        EVAL "return redis.call('acl','whoami')" 0
        EVAL "return redis.call('command','count') > 0" 0
        EVAL "return redis.call('object','freq','lst')" 0
        EVAL "return redis.call('dbsize')" 0
        EVAL "return redis.call('swapdb',0,1)" 0
        EVAL "return redis.call('move','lst',1)" 0
        EVAL "return redis.call('info','nosuchsection')" 0
        EVAL "return redis.call('slowlog','len') >= 0" 0
        EVAL "return redis.call('latency','latest')" 0
        EVAL "return redis.call('readonly')" 0
        "##,
    );
}

/// EVAL queued in MULTI, a script's error inside EXEC, SCRIPT DEBUG in
/// MULTI.
#[test]
fn scripts_inside_multi_exec_match_redis() {
    check(
        r##"
        SET str v
        MULTI
        EVAL "redis.call('set','a','1'); return redis.call('incr','a')" 0
        EVAL "return redis.call('incr','str')" 0
        EVAL "return 1 +" 0
        EVAL "return 1" -1
        EVALSHA ffffffffffffffffffffffffffffffffffffffff 0
        SCRIPT LOAD "return 7"
        EVAL "return {1,{err='inner'}}" 0
        EXEC
        MULTI
        SCRIPT DEBUG no
        EXEC
        MULTI
        EVAL "return 1"
        EXEC
        GET a
        "##,
    );
}

/// INFO errorstats and the relevant commandstats after scripts that fail
/// in every way: Redis 7.0 counts each error once, and counts refused
/// script commands as rejected calls of that command.
#[test]
fn error_statistics_after_scripts_match_redis() {
    let mut s = Pair::start(&[]);
    s.run(
        r##"
        SET str v
        EVAL "return redis.call('incr','str')" 0
        EVAL "return redis.pcall('incr','str')" 0
        EVAL "local ok = pcall(redis.call, 'incr','str'); return 1" 0
        EVAL "redis.pcall('incr','str'); return 1" 0
        EVAL "return redis.call('nosuch')" 0
        EVAL "return redis.pcall('nosuch')" 0
        EVAL "return redis.call('get')" 0
        EVAL "return redis.call('config')" 0
        EVAL "return redis.call('config','get')" 0
        EVAL "error('x')" 0
        EVAL "error({err='TABLEERR x'})" 0
        EVAL "return {err='MYERR x'}" 0
        EVAL "return redis.error_reply('OTHER y')" 0
        EVAL "return {1,{err='INNER z'}}" 0
        EVAL "return {redis.pcall('incr','str')}" 0
        EVAL "error(redis.pcall('incr','str'))" 0
        EVAL "return redis.pcall('get',{})" 0
        EVAL "return redis.call()" 0
        EVAL "return 1 +" 0
        EVAL "return 1" -1
        EVALSHA ffffffffffffffffffffffffffffffffffffffff 0
        EVAL_RO "return redis.call('set','x','1')" 1 x
        EVAL "return redis.call('set','a','1')" 0
        EVAL "return redis.call('get','a')" 0
        EVAL "#!lua flags=no-writes\nreturn redis.call('set','x','1')" 0
        EVAL "return redis.call('multi')" 0
        EVAL "return redis.pcall('multi')" 0
        EVAL "return redis.call('quit')" 0
        EVAL "return redis.call('xread','block','0','streams','s','0')" 0
        EVAL "return redis.call('lpush','str','x')" 0
        @stats
        CONFIG RESETSTAT
        @stats
        "##,
    );
}

/// A user without some command calling it from a script: Redis's text for
/// each kind of refusal, and the ACL LOG entry (context `lua`).
#[test]
fn acl_refusals_inside_scripts_match_redis() {
    let mut s = Pair::start(&[]);
    s.run(
        r##"
        ACL SETUSER u on nopass +@all -incr -config|get ~k* &ch*
        ACL SETUSER ro on nopass +eval +get ~*
        AUTH u x
        EVAL "return redis.call('incr','k1')" 0
        EVAL "return redis.pcall('incr','k1')" 0
        EVAL "return redis.call('config','get','maxmemory')" 0
        EVAL "return redis.call('get','other')" 0
        EVAL "return redis.call('set','k1','v')" 0
        EVAL "return redis.call('publish','other','m')" 0
        EVAL "return redis.call('publish','ch1','m')" 0
        EVAL "return redis.acl_check_cmd('incr','k1')" 0
        EVAL "return redis.acl_check_cmd('get','other')" 0
        EVAL "return redis.acl_check_cmd('get','k1')" 0
        EVAL "return redis.acl_check_cmd('config','get','x')" 0
        AUTH ro x
        EVAL "return redis.call('set','a','1')" 0
        EVAL "return redis.call('get','a')" 0
        EVALSHA ffffffffffffffffffffffffffffffffffffffff 0
        SCRIPT LOAD "return 1"
        AUTH default x
        @acllog
        @stats
        "##,
    );
}

/// WATCH is invalidated by a script's write (and not by a script that
/// only reads or writes nothing).
#[test]
fn watch_and_scripts_match_redis() {
    let mut s = Pair::start(&[]);
    s.run(
        r##"
        SET k 1
        WATCH k
        1> EVAL "return redis.call('get','k')" 0
        MULTI
        GET k
        EXEC
        WATCH k
        1> EVAL "return redis.call('set','k','2')" 0
        MULTI
        GET k
        EXEC
        WATCH k
        1> EVAL "return redis.pcall('incr','nokey2') and redis.call('del','nosuchkey')" 0
        MULTI
        GET k
        EXEC
        WATCH k
        1> EVAL "redis.call('select', 1); return redis.call('set','k','x')" 0
        MULTI
        GET k
        EXEC
        "##,
    );
}

/// MONITOR shows a script's commands after the script's own, tagged
/// `[db lua]`.
#[test]
fn monitor_output_for_scripts_matches_redis() {
    let mut s = Pair::start(&[]);
    s.run(
        r##"
        1> MONITOR
        EVAL "redis.call('set','k','v'); redis.call('select', 3); return redis.call('get','k')" 1 k
        1! read
        1! read
        1! read
        1! read
        EVALSHA 2fa2b029f72572e803ff55a09b1282699aecae6a 0
        1! read
        EVAL "return redis.pcall('incr','k')" 0
        1! read
        1! read
        EVAL "return redis.call('nosuch')" 0
        1! read
        SELECT 2
        1! read
        EVAL_RO "return redis.call('exists','k')" 0
        1! read
        1! read
        EVAL "return redis.call('get')" 0
        1! read
        EVAL "return 1 +" 0
        1! read
        EVAL "return 1" -1
        1! read
        1> PING
        "##,
    );
}

/// Keyspace notifications from a script's writes, in order, in the
/// script's database.
#[test]
fn keyspace_events_from_scripts_match_redis() {
    let mut s = Pair::start(&["--notify-keyspace-events", "KEA"]);
    s.run(
        r##"
        1> PSUBSCRIBE __key*@*__:*
        EVAL "redis.call('set','k','v'); redis.call('lpush','l','a'); redis.call('select', 5); redis.call('incr','n'); return redis.call('expire','n',100)" 0
        1! read
        1! read
        1! read
        1! read
        1! read
        1! read
        1! read
        1! read
        EVAL_RO "return redis.call('get','k')" 0
        EVAL "return redis.call('del','k')" 0
        1! read
        1! read
        1> PING
        "##,
    );
}

/// CLIENT LIST / CLIENT INFO of the caller show the script command; the
/// script's own CLIENT INFO describes the caller too.
#[test]
fn client_list_after_scripts_matches_redis() {
    let mut s = Pair::start(&[]);
    s.run(
        r##"
        EVAL "return 1" 0
        @fields cmd,db,multi | CLIENT INFO
        1> EVAL_RO "return 1" 0
        @fields cmd | CLIENT LIST
        SELECT 4
        EVAL "return redis.call('select', 3)" 0
        @fields cmd,db | CLIENT INFO
        EVAL "return redis.call('client','info')" 0
        EVAL_RO "return redis.call('client','getname')" 0
        @fields cmd | CLIENT INFO
        "##,
    );
}

/// Two servers and any number of connections to each, driven by one
/// script. Lines:
/// - `COMMAND ...` or `N> COMMAND ...`: send on connection N (default 0)
///   to both servers, compare the replies;
/// - `~...`: send, do not compare;
/// - `N! read`: read one more reply (MONITOR, pub/sub) on connection N,
///   compare it (MONITOR lines with their timestamp and client address
///   replaced);
/// - `@stats`: compare INFO errorstats, the error totals of INFO stats and
///   the calls/rejected/failed counts of every command (not the times);
/// - `@acllog`: compare ACL LOG entries without times and client info;
/// - `N> @fields a,b | COMMAND ...`: compare only fields `a=` and `b=` of
///   a CLIENT LIST / CLIENT INFO reply.
struct Pair {
    ours: ServerProc,
    theirs: ServerProc,
    conns: Vec<(Conn, Conn)>,
}

impl Pair {
    fn start(args: &[&str]) -> Pair {
        let mut ours_args = vec!["--save", ""];
        ours_args.extend_from_slice(args);
        let ours = ServerProc::start(&ours_args);
        let theirs = ServerProc::start_reference(args);
        Pair {
            ours,
            theirs,
            conns: Vec::new(),
        }
    }

    fn conn(&mut self, n: usize) -> &mut (Conn, Conn) {
        while self.conns.len() <= n {
            let pair = (self.ours.conn(), self.theirs.conn());
            self.conns.push(pair);
        }
        &mut self.conns[n]
    }

    fn send(&mut self, n: usize, line: &str) -> (Vec<u8>, Vec<u8>) {
        let args = split(line);
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        let (a, b) = self.conn(n);
        a.send(&refs);
        let ra = a.read_reply();
        b.send(&refs);
        let rb = b.read_reply();
        (ra, rb)
    }

    fn run(&mut self, script: &str) {
        let mut failures = Vec::new();
        for raw in script.lines() {
            let mut line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (compare, rest) = match line.strip_prefix('~') {
                Some(r) => (false, r.trim()),
                None => (true, line),
            };
            line = rest;
            let mut n = 0;
            let mut read_only = false;
            if let Some(pos) = line.find(['>', '!']) {
                if let Ok(k) = line[..pos].parse::<usize>() {
                    n = k;
                    read_only = line.as_bytes()[pos] == b'!';
                    line = line[pos + 1..].trim();
                }
            }
            let (ra, rb) = if read_only {
                let (a, b) = self.conn(n);
                (
                    normalize_monitor(&a.read_reply()),
                    normalize_monitor(&b.read_reply()),
                )
            } else if line == "@stats" {
                (self.stats(0, true), self.stats(0, false))
            } else if line == "@acllog" {
                (self.acl_log(true), self.acl_log(false))
            } else if let Some(spec) = line.strip_prefix("@fields ") {
                let (fields, cmd) = spec.split_once('|').expect("@fields a,b | COMMAND");
                let (ra, rb) = self.send(n, cmd.trim());
                (
                    pick_fields(&ra, fields.trim()),
                    pick_fields(&rb, fields.trim()),
                )
            } else {
                self.send(n, line)
            };
            if compare && ra != rb {
                failures.push(format!(
                    "  {raw}\n    redislite:    {:?}\n    redis-server: {:?}",
                    String::from_utf8_lossy(&ra),
                    String::from_utf8_lossy(&rb),
                    raw = raw.trim()
                ));
            }
        }
        assert!(
            failures.is_empty(),
            "{} replies differ from redis-server:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    /// INFO errorstats, the error totals and every command's counts
    /// (times stripped), in a stable order.
    fn stats(&mut self, n: usize, ours: bool) -> Vec<u8> {
        let (a, b) = self.conn(n);
        let c = if ours { a } else { b };
        let mut lines: Vec<String> = Vec::new();
        for section in ["errorstats", "commandstats", "stats"] {
            let text = String::from_utf8_lossy(&c.cmd(&["INFO", section])).into_owned();
            for l in text.lines() {
                let l = l.trim();
                if l.starts_with("errorstat_")
                    || l.starts_with("total_error_replies")
                    || l.starts_with("unexpected_error_replies")
                {
                    lines.push(l.to_string());
                } else if let Some(rest) = l.strip_prefix("cmdstat_") {
                    // INFO itself is not a script's business.
                    if rest.starts_with("info:") {
                        continue;
                    }
                    let kept: Vec<&str> = rest
                        .split([':', ','])
                        .filter(|f| !f.starts_with("usec"))
                        .collect();
                    lines.push(kept.join(","));
                }
            }
        }
        lines.sort();
        lines.join("\n").into_bytes()
    }

    /// ACL LOG without the fields that differ by nature (times, client
    /// info, entry ids).
    fn acl_log(&mut self, ours: bool) -> Vec<u8> {
        let (a, b) = self.conn(0);
        let c = if ours { a } else { b };
        c.send(&[b"ACL", b"LOG"]);
        let raw = c.read_reply();
        // Flat list of the bulk strings and integers, then drop the values
        // of the volatile fields.
        let text = String::from_utf8_lossy(&raw).into_owned();
        let items: Vec<&str> = text
            .split("\r\n")
            .filter(|t| !t.starts_with('*') && !t.starts_with('$') && !t.is_empty())
            .collect();
        let mut out = Vec::new();
        let mut skip = false;
        for it in items {
            if skip {
                skip = false;
                continue;
            }
            if matches!(
                it,
                "age-seconds"
                    | "client-info"
                    | "entry-id"
                    | "timestamp-created"
                    | "timestamp-last-updated"
            ) {
                skip = true;
                continue;
            }
            out.push(it.to_string());
        }
        out.join("|").into_bytes()
    }
}

/// A MONITOR line without its timestamp and client address (`[0 lua]`
/// stays: that is what is compared).
fn normalize_monitor(reply: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(reply).into_owned();
    let Some(body) = text.strip_prefix('+') else {
        return reply.to_vec();
    };
    let Some((_, rest)) = body.split_once(' ') else {
        return reply.to_vec();
    };
    if let Some(stripped) = rest.strip_prefix('[') {
        if let Some((inside, after)) = stripped.split_once(']') {
            let (db, who) = inside.split_once(' ').unwrap_or((inside, ""));
            let who = if who == "lua" { "lua" } else { "ADDR" };
            return format!("+[{db} {who}]{after}").into_bytes();
        }
    }
    reply.to_vec()
}

/// The named `field=value` pairs of a CLIENT LIST / CLIENT INFO reply.
fn pick_fields(reply: &[u8], fields: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(reply).into_owned();
    let wanted: Vec<&str> = fields.split(',').collect();
    let mut out = Vec::new();
    for tok in text.split([' ', '\n', '\r']) {
        if let Some((k, _)) = tok.split_once('=') {
            if wanted.contains(&k) {
                out.push(tok.to_string());
            }
        }
    }
    out.join(" ").into_bytes()
}

/// EVAL and FCALL may name no key (`no_mandatory_keys`): COMMAND GETKEYS
/// gives an empty list for any count that names none, where a command
/// whose keys are mandatory answers an error.
#[test]
fn getkeys_of_scripts_without_keys_matches_redis() {
    check(
        r#"
        COMMAND GETKEYS eval "return 1" 0
        COMMAND GETKEYS fcall_ro f 0
        COMMAND GETKEYS eval "return 1" -1
        COMMAND GETKEYS eval "return 1" 2 a
        COMMAND GETKEYS eval "return 1" x
        COMMAND GETKEYS eval "return 1" 1 a b
        COMMAND GETKEYS evalsha_ro abc 2 a b c
        COMMAND GETKEYS zunion 0 a
        COMMAND GETKEYS get
        "#,
    );
}

/// KEYS and ARGV are new for every script as far as a script can tell
/// (RedisLite refills two tables where Redis makes new ones): what one
/// script adds to them, a metatable included, is gone for the next, and a
/// script that filled them with many entries leaves nothing behind.
#[test]
fn keys_and_argv_start_clean_for_every_script() {
    check(
        r##"
        EVAL "KEYS.extra = 1; KEYS[5] = 'x'; ARGV[3] = 'y'; setmetatable(KEYS, {__index = function() return 'meta' end}); return #KEYS" 2 a b 1
        EVAL "return {#KEYS, #ARGV, tostring(KEYS.extra), tostring(KEYS[5]), tostring(ARGV[3]), tostring(getmetatable(KEYS)), KEYS[1], ARGV[1]}" 1 k v
        EVAL "for i = 1, 1000 do KEYS[i] = i; ARGV['f' .. i] = i end; return #KEYS" 0
        EVAL "local n = 0; for _ in pairs(KEYS) do n = n + 1 end; for _ in pairs(ARGV) do n = n + 1 end; return {n, #KEYS, #ARGV}" 1 only
        EVAL "return {#KEYS, #ARGV}" 0
        EVAL "rawset(KEYS, 'r', 1); return next(KEYS)" 0
        EVAL "return tostring(next(KEYS))" 0
        EVAL "rawset(_G, 'KEYS', {'evil'}) return 1" 0
        EVAL "return KEYS[1]" 1 good
        EVAL "setmetatable(_G, nil) ARGV = {'evil'} return 1" 0
        EVAL "return ARGV[1]" 0 good
        "##,
    );
}

/// Time inside a script that runs 80 ms, as Redis 7.0 keeps it: expiry is
/// judged at the script's start (a key set with PX 30 is still there),
/// while TTLs are reported and new deadlines set by the moving clock
/// (PTTL/TTL of that key answer 0; SET PX 1000 at the end expires 1000 ms
/// after the end, not after the start).
#[test]
fn script_time_matches_redis() {
    check(
        r##"
        EVAL "redis.call('set','tk','v','px',30) local t0=redis.call('time') while true do local t=redis.call('time') if (t[1]-t0[1])*1000000+(t[2]-t0[2]) > 80000 then break end end redis.call('set','k2','v','px',1000) local e=redis.call('pexpiretime','k2') local t=redis.call('time') local d=e-(t[1]*1000+math.floor(t[2]/1000)) return {redis.call('get','tk'), redis.call('pttl','tk'), redis.call('ttl','tk'), redis.call('exists','tk'), (d > 990 and d <= 1000) and 1 or 0}" 0
        GET tk
        "##,
    );
}
