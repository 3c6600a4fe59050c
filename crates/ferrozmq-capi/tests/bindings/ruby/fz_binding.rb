#!/usr/bin/ruby
# One side of a REQ/REP or PUB/SUB exchange with ferrozmq's fzmq, through
# ffi-rzmq (Debian's ruby-ffi-rzmq / ruby-ffi-rzmq-core): run.sh starts the
# fzmq peer.
#
#   fz_binding.rb MODE [ENDPOINT] [STOPFILE]
#     lib-check                    only the check of the loaded library
#     rep-bind | rep-connect EP    REP: answer 3 requests, each frame prefixed "ruby:"
#     req-bind | req-connect EP    REQ: send 3 requests (one of 2 frames), expect the echo
#     pub-bind STOP | pub-connect EP STOP
#                                  PUB: publish "news <i>"/"weather <i>" until STOP exists
#     sub-bind | sub-connect EP    SUB "weather": 3 consecutive "weather <i>"
# "-bind" modes bind tcp://127.0.0.1:* and print "ENDPOINT <resolved>".
# Prints PASS/FAIL lines; exit status 1 if any check failed.
#
# ffi-rzmq-core loads libzmq with Ruby FFI's `ffi_lib 'libzmq.so.5'`
# (Debian's package names the soname; flags :now, :global): a plain
# dlopen("libzmq.so.5"), so the dynamic loader's search order applies and
# LD_LIBRARY_PATH=DIR selects ours. The first check reads /proc/self/maps.

$stdout.sync = true
require 'ffi-rzmq'

LANG = 'ruby'
MODE = ARGV[0] or abort "usage: #{$0} MODE [ENDPOINT] [STOPFILE]"
ARGS = ARGV[1..]
$failures = 0

def pass(name) = puts("PASS #{LANG}/#{MODE}/#{name}")

def fail(name, why)
  puts "FAIL #{LANG}/#{MODE}/#{name}: #{why}"
  $failures += 1
end

def check(ok, name, why) = ok ? pass(name) : fail(name, why)
def show(parts) = parts.map { |p| "'#{p}'" }.join(' | ')

def finish
  exit($failures.zero? ? 0 : 1)
end

def check_loaded_lib
  want = ENV['FERRO_EXPECT_LIB']
  return fail('loaded-library', 'FERRO_EXPECT_LIB is not set (run me through run.sh)') if want.nil? || want.empty?

  found = false
  others = []
  File.foreach('/proc/self/maps') do |line|
    path = line[%r{(/\S+)$}, 1] or next
    if path == want
      found = true
    elsif File.basename(path).include?('libzmq.so')
      others << path unless others.include?(path)
    end
  end
  v = LibZMQ.version
  if found && others.empty?
    puts "INFO #{LANG}: libzmq #{v[:major]}.#{v[:minor]}.#{v[:patch]} from #{want}"
    pass('loaded-library')
  else
    fail('loaded-library', "expected #{want} to be mapped (#{found ? 'it is' : 'it is NOT'}), " \
                           "other libzmq mapped: #{others.empty? ? 'none' : others.join(' ')}")
  end
end

CTX = ZMQ::Context.new
check_loaded_lib
if MODE == 'lib-check'
  CTX.terminate
  finish
end

def ok?(rc) = ZMQ::Util.resultcode_ok?(rc)
def err = "#{ZMQ::Util.errno} #{ZMQ::Util.error_string}"

def open_socket(type, bind, endpoint)
  s = CTX.socket(type)
  s.setsockopt(ZMQ::LINGER, 2000)
  s.setsockopt(ZMQ::RCVTIMEO, 15_000)
  s.setsockopt(ZMQ::SNDTIMEO, 15_000)
  if bind
    rc = s.bind('tcp://127.0.0.1:*')
    got = []
    s.getsockopt(ZMQ::LAST_ENDPOINT, got)
    ep = got[0].to_s.delete("\0")
    check(ok?(rc) && ep.match?(%r{\Atcp://127\.0\.0\.1:\d+\z}), 'bind-resolves-endpoint',
          "bind rc #{rc} (#{err}), LAST_ENDPOINT '#{ep}'")
    puts "ENDPOINT #{ep}"
  else
    rc = s.connect(endpoint)
    check(ok?(rc), 'connect', "connect #{endpoint}: #{err}") unless ok?(rc)
  end
  s
end

# Receives a multipart message of strings; nil on timeout/error.
def recv_parts(s)
  parts = []
  ok?(s.recv_strings(parts)) ? parts : nil
end

REQUESTS = [['hello 1'], ['hello 2'], %w[multi part]].freeze

case MODE
when /\Arep-(bind|connect)\z/
  s = open_socket(ZMQ::REP, Regexp.last_match(1) == 'bind', ARGS[0])
  REQUESTS.each_with_index do |want, i|
    got = recv_parts(s)
    unless got
      fail("request-#{i}", "no request within 15 s (#{err})")
      break
    end
    check(got == want, "request-#{i}", "got #{show(got)}, want #{show(want)}")
    s.send_strings(got.map { |p| "#{LANG}:#{p}" })
  end
  s.close
when /\Areq-(bind|connect)\z/
  s = open_socket(ZMQ::REQ, Regexp.last_match(1) == 'bind', ARGS[0])
  REQUESTS.each_with_index do |want, i|
    unless ok?(s.send_strings(want))
      fail("send-#{i}", "send failed within 15 s (#{err})")
      break
    end
    got = recv_parts(s)
    unless got
      fail("echo-#{i}", "no reply within 15 s (#{err})")
      break
    end
    check(got == want, "echo-#{i}", "got #{show(got)}, want #{show(want)}")
  end
  s.close
when /\Apub-(bind|connect)\z/
  bind = Regexp.last_match(1) == 'bind'
  stop = bind ? ARGS[0] : ARGS[1]
  abort 'pub-* needs a STOPFILE' unless stop
  s = open_socket(ZMQ::PUB, bind, ARGS[0])
  # Publish until the peer has what it needs (run.sh creates STOP), bounded.
  i = 0
  deadline = Time.now + 20
  while !File.exist?(stop) && Time.now < deadline
    s.send_string("news #{i}")
    s.send_string("weather #{i}")
    i += 1
    sleep 0.01 # pacing the stream, not a synchronisation
  end
  check(File.exist?(stop), 'published-until-peer-done', "STOP file never appeared after #{i} messages")
  s.setsockopt(ZMQ::LINGER, 0)
  s.close
when /\Asub-(bind|connect)\z/
  s = open_socket(ZMQ::SUB, Regexp.last_match(1) == 'bind', ARGS[0])
  s.setsockopt(ZMQ::SUBSCRIBE, 'weather')
  prev = nil
  why = ''
  (1..3).each do |n|
    got = recv_parts(s)
    if got.nil?
      why = "message #{n}: nothing within 15 s (#{err})"
      break
    end
    text = got.join("\t")
    m = text.match(/\Aweather (\d+)\z/)
    if m.nil?
      why = "message #{n}: '#{text}' (only weather wanted)"
      break
    end
    if prev && m[1].to_i != prev + 1
      why = "message #{n}: '#{text}' after weather #{prev}"
      break
    end
    prev = m[1].to_i
  end
  check(why.empty?, 'gets-only-weather-in-order', why)
  s.setsockopt(ZMQ::LINGER, 0)
  s.close
else
  abort "unknown mode '#{MODE}'"
end
CTX.terminate
finish
