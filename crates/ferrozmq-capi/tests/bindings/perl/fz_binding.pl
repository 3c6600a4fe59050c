#!/usr/bin/perl
# One side of a REQ/REP or PUB/SUB exchange with ferrozmq's fzmq, through
# ZMQ::FFI (Debian's libzmq-ffi-perl): run.sh starts the fzmq peer.
#
#   fz_binding.pl MODE [ENDPOINT] [STOPFILE]
#     lib-check                    only the check of the loaded library
#     rep-bind | rep-connect EP    REP: answer 3 requests, each frame prefixed "perl:"
#     req-bind | req-connect EP    REQ: send 3 requests (one of 2 frames), expect the echo
#     pub-bind STOP | pub-connect EP STOP
#                                  PUB: publish "news <i>"/"weather <i>" until STOP exists
#     sub-bind | sub-connect EP    SUB "weather": 3 consecutive "weather <i>"
# "-bind" modes bind tcp://127.0.0.1:* and print "ENDPOINT <resolved>".
# Prints PASS/FAIL lines; exit status 1 if any check failed.
#
# ZMQ::FFI finds libzmq with FFI::CheckLib (find_lib lib => 'zmq'), which
# scans directories -- FFI_CHECKLIB_PATH first, then Perl's
# @DynaLoader::dl_library_path (the system directories, and LD_LIBRARY_PATH
# only at the end) -- and dlopens the full path it found. LD_LIBRARY_PATH
# alone therefore still loads Debian's /usr/lib/x86_64-linux-gnu/libzmq.so.5;
# run.sh sets FFI_CHECKLIB_PATH to our directory. The first check below reads
# /proc/self/maps to prove which library was loaded.
use strict;
use warnings;
use ZMQ::FFI;
use ZMQ::FFI::Constants qw(ZMQ_REQ ZMQ_REP ZMQ_PUB ZMQ_SUB ZMQ_LAST_ENDPOINT ZMQ_RCVTIMEO ZMQ_SNDTIMEO ZMQ_LINGER);
use Time::HiRes qw(time sleep);

$| = 1;
my $LANG = 'perl';
my ($mode, @args) = @ARGV;
die "usage: $0 MODE [ENDPOINT] [STOPFILE]\n" unless $mode;
my $failures = 0;

sub pass { print "PASS $LANG/$mode/$_[0]\n" }
sub fail { print "FAIL $LANG/$mode/$_[0]: $_[1]\n"; $failures++ }
sub check { my ($ok, $name, $why) = @_; $ok ? pass($name) : fail($name, $why) }
sub show { join ' | ', map { "'$_'" } @_ }

my $ctx = ZMQ::FFI->new();

# ------------------------------------------------------ which libzmq is this?
sub check_loaded_lib {
    my $want = $ENV{FERRO_EXPECT_LIB};
    return fail('loaded-library', 'FERRO_EXPECT_LIB is not set (run me through run.sh)') unless $want;
    open my $maps, '<', '/proc/self/maps' or return fail('loaded-library', "cannot read /proc/self/maps: $!");
    my ($found, %other) = (0);
    while (<$maps>) {
        next unless m{(/\S+)$};
        my $path = $1;
        if ($path eq $want) { $found = 1 }
        elsif ($path =~ m{/[^/]*libzmq\.so[^/]*$}) { $other{$path} = 1 }
    }
    my ($maj, $min, $pat) = $ctx->version;
    if ($found && !%other) {
        print "INFO $LANG: libzmq $maj.$min.$pat from $want (ZMQ::FFI soname ", $ctx->soname, ")\n";
        return pass('loaded-library');
    }
    fail('loaded-library', "expected $want to be mapped (" . ($found ? 'it is' : 'it is NOT')
        . '), other libzmq mapped: ' . (join(' ', sort keys %other) || 'none'));
}
check_loaded_lib();
if ($mode eq 'lib-check') {
    $ctx->destroy;
    exit($failures ? 1 : 0);
}

# ------------------------------------------------------------------- helpers
sub open_socket {
    my ($type, $bind, $endpoint) = @_;
    my $s = $ctx->socket($type);
    $s->set(ZMQ_LINGER, 'int', 2000);
    $s->set(ZMQ_RCVTIMEO, 'int', 15000);
    $s->set(ZMQ_SNDTIMEO, 'int', 15000);
    if ($bind) {
        $s->bind('tcp://127.0.0.1:*');
        my $ep = $s->get(ZMQ_LAST_ENDPOINT, 'string');
        $ep =~ s/\0.*//s;
        check($ep =~ m{^tcp://127\.0\.0\.1:\d+$}, 'bind-resolves-endpoint', "LAST_ENDPOINT '$ep'");
        print "ENDPOINT $ep\n";
    } else {
        $s->connect($endpoint);
    }
    return $s;
}

# recv_multipart with RCVTIMEO: undef on timeout/error.
sub recv_parts {
    my ($s) = @_;
    my @parts = eval { $s->recv_multipart() };
    return $@ ? undef : \@parts;
}

my @REQUESTS = (['hello 1'], ['hello 2'], ['multi', 'part']);

# -------------------------------------------------------------------- modes
if ($mode =~ /^rep-(bind|connect)$/) {
    my $s = open_socket(ZMQ_REP, $1 eq 'bind', $args[0]);
    for my $i (0 .. $#REQUESTS) {
        my $got = recv_parts($s);
        my $want = $REQUESTS[$i];
        if (!$got) { fail("request-$i", "no request within 15 s: $@"); last }
        check(show(@$got) eq show(@$want), "request-$i", 'got ' . show(@$got) . ', want ' . show(@$want));
        $s->send_multipart([map { "$LANG:$_" } @$got]);
    }
    $s->close;
} elsif ($mode =~ /^req-(bind|connect)$/) {
    my $s = open_socket(ZMQ_REQ, $1 eq 'bind', $args[0]);
    for my $i (0 .. $#REQUESTS) {
        my $want = $REQUESTS[$i];
        if (!eval { $s->send_multipart($want); 1 }) { fail("send-$i", "send failed within 15 s: $@"); last }
        my $got = recv_parts($s);
        if (!$got) { fail("echo-$i", "no reply within 15 s: $@"); last }
        check(show(@$got) eq show(@$want), "echo-$i", 'got ' . show(@$got) . ', want ' . show(@$want));
    }
    $s->close;
} elsif ($mode =~ /^pub-(bind|connect)$/) {
    my $bind = $1 eq 'bind';
    my $stop = $bind ? $args[0] : $args[1];
    die "usage: pub-* needs a STOPFILE\n" unless $stop;
    my $s = open_socket(ZMQ_PUB, $bind, $args[0]);
    # Publish until the peer has what it needs (run.sh creates STOP), bounded.
    my ($i, $deadline) = (0, time + 20);
    while (!-e $stop && time < $deadline) {
        $s->send("news $i");
        $s->send("weather $i");
        $i++;
        sleep 0.01;    # pacing the stream, not a synchronisation
    }
    check(-e $stop, 'published-until-peer-done', "STOP file never appeared after $i messages");
    $s->set(ZMQ_LINGER, 'int', 0);
    $s->close;
} elsif ($mode =~ /^sub-(bind|connect)$/) {
    my $s = open_socket(ZMQ_SUB, $1 eq 'bind', $args[0]);
    $s->subscribe('weather');
    my ($prev, $why) = (undef, '');
    for my $n (1 .. 3) {
        my $got = recv_parts($s);
        if (!$got) { $why = "message $n: nothing within 15 s"; last }
        my $text = join "\t", @$got;
        if ($text !~ /^weather (\d+)$/) { $why = "message $n: '$text' (only weather wanted)"; last }
        if (defined $prev && $1 != $prev + 1) { $why = "message $n: '$text' after weather $prev"; last }
        $prev = $1;
    }
    check(!$why, 'gets-only-weather-in-order', $why);
    $s->set(ZMQ_LINGER, 'int', 0);
    $s->close;
} else {
    die "unknown mode '$mode'\n";
}
$ctx->destroy;
exit($failures ? 1 : 0);
