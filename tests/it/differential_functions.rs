//! Differential tests for Redis 7.0 functions: FUNCTION LOAD / LIST /
//! DELETE / FLUSH / STATS / KILL / HELP / RESTORE errors and FCALL /
//! FCALL_RO, against Debian's redis-server 7.0, byte for byte.
//!
//! Libraries here register one function each (or are listed with a
//! LIBRARYNAME pattern that picks one) wherever a listing is compared:
//! Redis lists libraries and functions in hash-table order, which is
//! seeded at random when it starts; RedisLite lists them by name.

use crate::differential::check;

#[test]
fn function_load_errors_match_redis() {
    check(
        r##"
        FUNCTION LOAD "return 1"
        FUNCTION LOAD "#!lua"
        FUNCTION LOAD "#!lua\n"
        FUNCTION LOAD "#!luax name=x\n"
        FUNCTION LOAD "#!lua name=x foo=bar\n"
        FUNCTION LOAD "#!lua name=x\n"
        FUNCTION LOAD "#!lua name=x name=y\n"
        FUNCTION LOAD "#!lua name=\n"
        FUNCTION LOAD "#!lua name=a-b\n"
        FUNCTION LOAD "#! lua name=x\n"
        FUNCTION LOAD "#!lua name=\"q3\"x\nredis.register_function('q3', function() end)"
        FUNCTION LOAD "#!lua name=x\x00\nredis.register_function('q3', function() end)"
        FUNCTION LOAD "#!lua name=x\nredis.register_function('x-y', function() end)"
        FUNCTION LOAD "#!lua name=x\nredis.register_function('f\xc3\xa9', function() end)"
        FUNCTION LOAD "#!lua name=x\nredis.register_function(1.5, function() end)"
        FUNCTION LOAD "#!lua name=x\nsyntax error here"
        FUNCTION LOAD "#!lua name=x\nerror('boom')"
        FUNCTION LOAD "#!lua name=x\nredis.call('ping')"
        FUNCTION LOAD "#!lua name=x\nlocal t = pairs"
        FUNCTION LOAD "#!lua name=x\nlocal t = string.format"
        FUNCTION LOAD "#!lua name=x\nlocal t = _G"
        FUNCTION LOAD "#!lua name=x\nlocal t = redis.setresp"
        FUNCTION LOAD "#!lua name=x\nredis.register_function('f', function() end) local x = nil + 1"
        FUNCTION LOAD "#!lua name=x\nredis.register_function('f', function() end) redis.foo = 1"
        FUNCTION LOAD "#!lua name=x\nredis.register_function('f', function() end) x = 1"
        FUNCTION LOAD "#!lua name=x\nlocal i = 0 while true do i = i + 1 end"
        FUNCTION LOAD "#!lua name=x\nredis.register_function('f', function() end) redis.register_function('f', function() end)"
        FUNCTION LOAD "#!lua name=x\nredis.register_function('f', function() end, 'x')"
        FUNCTION LOAD "#!lua name=x\nredis.register_function('f')"
        FUNCTION LOAD "#!lua name=x\nredis.register_function('f', 1)"
        FUNCTION LOAD "#!lua name=x\nredis.register_function({}, function() end)"
        FUNCTION LOAD "#!lua name=x\nredis.register_function()"
        FUNCTION LOAD "#!lua name=x\nredis.register_function(nil)"
        FUNCTION LOAD "#!lua name=x\nredis.register_function{function_name='f', callback=function() end, flags={'bad'}}"
        FUNCTION LOAD "#!lua name=x\nredis.register_function{function_name='f', callback=function() end, flags='no-writes'}"
        FUNCTION LOAD "#!lua name=x\nredis.register_function{function_name='f', callback=function() end, flags={1}}"
        FUNCTION LOAD "#!lua name=x\nredis.register_function{function_name='f', callback=function() end, foo=1}"
        FUNCTION LOAD "#!lua name=x\nredis.register_function{function_name='f', callback=function() end, [1]=2}"
        FUNCTION LOAD "#!lua name=x\nredis.register_function{function_name='f'}"
        FUNCTION LOAD "#!lua name=x\nredis.register_function{callback=function() end}"
        FUNCTION LOAD "#!lua name=x\nredis.register_function{}"
        FUNCTION LOAD "#!lua name=x\nredis.register_function{function_name={}, callback=function() end}"
        FUNCTION LOAD "#!lua name=x\nredis.register_function{function_name='f', callback='x'}"
        FUNCTION LOAD "#!lua name=x\nredis.register_function{function_name='f', callback=function() end, description={}}"
        FUNCTION LOAD "#!lua name=x\nredis.log()"
        FUNCTION LOAD "#!lua name=x\nredis.log('x', 'y')"
        FUNCTION LOAD "#!lua name=x\nredis.log(9, 'y')"
        FUNCTION LOAD "#!lua name=x\nredis.log(redis.LOG_WARNING, 'loading') local v = redis.REDIS_VERSION_NUM + redis.LOG_DEBUG"
        FUNCTION LOAD foo "#!lua name=x\nredis.register_function('f', function() end)"
        FUNCTION LOAD "#!lua name=x\nredis.register_function('f', function() end)" x
        FUNCTION LOAD
        FUNCTION LIST
        FUNCTION STATS
        "##,
    );
}

#[test]
fn function_load_list_delete_match_redis() {
    check(
        r##"
        FUNCTION LOAD "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return args[1] end)"
        FUNCTION LOAD "#!lua name=mylib\nredis.register_function('other', function(keys, args) return args[1] end)"
        FCALL myfunc 0 hello
        FCALL MYFUNC 0 hello
        FUNCTION LIST
        FUNCTION LIST WITHCODE
        FUNCTION LIST withcode LIBRARYNAME my*
        FUNCTION LIST LIBRARYNAME MY*
        FUNCTION LIST LIBRARYNAME nomatch*
        FUNCTION LIST LIBRARYNAME
        FUNCTION LIST LIBRARYNAME l* WITHCODE WITHCODE
        FUNCTION LIST LIBRARYNAME a LIBRARYNAME b
        FUNCTION LIST foo
        FUNCTION LOAD "#!lua name=MYLIB\nredis.register_function('MyFunc', function() return 1 end)"
        FUNCTION LOAD "#!lua name=MYLIB\nredis.register_function('MyFunc2', function() return 1 end)"
        ~FUNCTION LIST LIBRARYNAME MYLIB
        FUNCTION DELETE MYLIB
        FUNCTION LOAD REPLACE "#!lua name=lib2\nredis.register_function('myfunc', function() return 1 end)"
        FUNCTION LOAD replace "#!lua name=mylib\nredis.register_function{function_name='f2', callback=function() return 2 end, flags={'no-writes', 'ALLOW-STALE', 'allow-oom', 'no-cluster', 'allow-cross-slot-keys'}, description='the f2'}"
        FUNCTION LOAD replace replace "#!lua name=mylib\nredis.register_function{function_name='f2', callback=function() return 2 end, flags={'no-writes', 'ALLOW-STALE', 'allow-oom', 'no-cluster', 'allow-cross-slot-keys'}, description='the f2'}"
        FUNCTION LIST LIBRARYNAME mylib
        FCALL myfunc 0
        FCALL f2 0
        FUNCTION STATS
        FUNCTION DELETE nosuch
        FUNCTION DELETE MyLib
        FUNCTION DELETE mylib x
        FUNCTION DELETE mylib
        FUNCTION LIST LIBRARYNAME mylib
        FCALL f2 0
        FUNCTION STATS
        ~HELLO 3
        FUNCTION LOAD "#!lua name=r3\nredis.register_function{function_name='r3', callback=function() return 1 end, flags={'allow-stale', 'no-writes'}}"
        FUNCTION LOAD "#!lua name=r4\nredis.register_function{function_name='r4', callback=function() return 1 end, description='d'}"
        FUNCTION LIST LIBRARYNAME r3 WITHCODE
        FUNCTION LIST LIBRARYNAME r4
        FUNCTION STATS
        ~HELLO 2
        FUNCTION FLUSH x
        FUNCTION FLUSH async x
        FUNCTION FLUSH lazy
        FUNCTION FLUSH ASYNC
        FUNCTION LIST
        FUNCTION LOAD "#!lua name=s\nredis.register_function('s', function() return 1 end)"
        FUNCTION FLUSH SYNC
        FUNCTION FLUSH
        FUNCTION STATS
        FUNCTION STATS x
        FUNCTION KILL
        FUNCTION KILL x
        FUNCTION NOSUCH
        FUNCTION
        FUNCTION HELP
        FUNCTION help x
        FUNCTION DUMP x
        FUNCTION DUMP
        "##,
    );
}

#[test]
fn fcall_replies_and_errors_match_redis() {
    check(
        r##"
        FUNCTION LOAD "#!lua name=lib1\nlocal function f(keys, args)\n  return redis.call('set', keys[1], args[1])\nend\nredis.register_function('setit', f)\nredis.register_function('err1', function() error('boom') end)\nredis.register_function('err2', function() return redis.call('nosuch') end)\nredis.register_function('err3', function() return redis.error_reply('MY err') end)\nredis.register_function('err4', function() local x = undefinedvar end)\nredis.register_function('err5', function() error({err='XX custom'}) end)\nredis.register_function{function_name='ro', callback=function(keys) return redis.call('get', keys[1]) end, flags={'no-writes'}}\nredis.register_function{function_name='rowrite', callback=function(keys) return redis.call('set', keys[1], 'x') end, flags={'no-writes'}}\nredis.register_function('glob', function() x = 1 end)\nredis.register_function('getr', function() return redis.nosuch end)\nredis.register_function('kv', function(keys, args) return {#keys, #args, keys[1], args[1]} end)\nredis.register_function('rs', function() redis.setresp(3) return redis.call('hgetall', 'h') end)\nredis.register_function('rlib', function() local t = {} for k, v in pairs(redis) do table.insert(t, k) end table.sort(t) return table.concat(t, ',') end)\nredis.register_function('nokeys', function() return {type(KEYS), type(ARGV)} end)\nredis.register_function('reg', function() return pcall(redis.register_function, 'zz', function() end) end)\nredis.register_function('evalcall', function() return redis.call('eval', 'return 1', 0) end)\nredis.register_function('fcallcall', function() return redis.call('fcall', 'kv', 0) end)\nredis.register_function('fn_call', function() return redis.call('function', 'list') end)\nredis.register_function('pc', function() return redis.pcall('incr', 'str') end)\nredis.register_function{function_name='oomset', callback=function(keys) return redis.call('set', keys[1], 'x') end, flags={'allow-oom'}}"
        SET str abc
        FCALL setit 1 k v
        GET k
        FCALL err1 0
        FCALL err2 0
        FCALL err3 0
        FCALL err4 0
        FCALL err5 0
        FCALL ro 1 k
        FCALL_RO ro 1 k
        FCALL_RO setit 1 k v
        FCALL rowrite 1 k
        FCALL_RO rowrite 1 k
        FCALL glob 0
        FCALL getr 0
        FCALL kv 2 a b c
        FCALL kv 0
        FCALL kv -1
        FCALL kv 3 a
        FCALL kv x
        FCALL nosuch 0
        FCALL nosuch x
        FCALL kv
        FCALL_RO kv
        FCALL_RO kv 0
        FCALL KV 0
        HSET h f v
        FCALL rs 0
        FCALL rlib 0
        FCALL nokeys 0
        FCALL reg 0
        FCALL evalcall 0
        FCALL fcallcall 0
        FCALL fn_call 0
        FCALL pc 0
        EVAL "return redis.call('fcall', 'kv', 0)" 0
        EVAL "return redis.call('function', 'stats')" 0
        MULTI
        FCALL setit 1 k2 v2
        FUNCTION LOAD "#!lua name=inmulti\nredis.register_function('inmulti', function() return 7 end)"
        FCALL inmulti 0
        EXEC
        GET k2
        CONFIG SET maxmemory 1
        FCALL setit 1 k v
        FCALL ro 1 k
        FCALL oomset 1 k
        EVAL "#!lua flags=allow-oom\nreturn redis.call('set', KEYS[1], 'y')" 1 k
        EVAL "#!lua\nreturn redis.call('set', KEYS[1], 'y')" 1 k
        FUNCTION DELETE inmulti
        FUNCTION LOAD "#!lua name=oom\nredis.register_function('oom', function() return 1 end)"
        CONFIG SET maxmemory 0
        "##,
    );
}

#[test]
fn function_restore_errors_match_redis() {
    // Payloads built by hand: [245][RDB string], RDB version 10, CRC-64.
    check(
        r##"
        FUNCTION RESTORE xx
        FUNCTION RESTORE xx bad
        FUNCTION RESTORE xx flush x
        FUNCTION RESTORE "\n\x00]\x9b\\@\x0f\x7f\xa2\xda"
        FUNCTION LOAD "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return args[1] end)"
        FUNCTION RESTORE "\n\x00]\x9b\\@\x0f\x7f\xa2\xda" FLUSH
        FUNCTION LIST
        FUNCTION DUMP
        "##,
    );
}

#[test]
fn fcall_flags_on_a_replica_match_redis() {
    // A replica whose master is unreachable: `allow-stale` lets a function
    // run on stale data, `no-writes` lets it run on a read-only replica.
    check(
        r##"
        FUNCTION LOAD "#!lua name=lib\nredis.register_function{function_name='stale_ro', callback=function(keys) return redis.call('get', keys[1]) end, flags={'no-writes', 'allow-stale'}}\nredis.register_function{function_name='ro', callback=function(keys) return redis.call('get', keys[1]) end, flags={'no-writes'}}\nredis.register_function('rw', function(keys) return redis.call('set', keys[1], 'x') end)\nredis.register_function('rw_reads', function(keys) return redis.call('get', keys[1]) end)"
        SET k v
        REPLICAOF 127.0.0.1 1
        FCALL_RO stale_ro 1 k
        FCALL ro 1 k
        FCALL rw 1 k
        FCALL rw_reads 1 k
        FUNCTION LOAD "#!lua name=x\nredis.register_function('x', function() return 1 end)"
        FUNCTION DELETE lib
        CONFIG SET replica-serve-stale-data no
        FCALL_RO stale_ro 1 k
        FCALL ro 1 k
        FCALL rw 1 k
        FUNCTION STATS
        REPLICAOF NO ONE
        FCALL rw 1 k
        "##,
    );
}
