#!/usr/bin/perl
# Test-only HTTP proxy on 127.0.0.1: logs the first line of every request
# it receives (and whether it carried a credential header) to LOG, tunnels
# CONNECT to loopback ports only, and answers any other request with a
# forged page, so a spec can tell whether a request went through it.
# Usage: proxy.pl LOG PORTFILE  (writes its port, then serves until killed)
use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;

my ($log, $portfile) = @ARGV;
my $server = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
	Listen => 64, ReuseAddr => 1) or die "listen: $!";
$SIG{CHLD} = 'IGNORE';
open(my $pf, '>', "$portfile.tmp") or die; print $pf $server->sockport, "\n"; close $pf;
rename("$portfile.tmp", $portfile) or die;

sub note {
	open(my $fh, '>>', $log) or return;
	print $fh @_, "\n";
	close $fh;
}

sub head {
	my ($c) = @_;
	my @lines;
	while (defined(my $l = <$c>)) {
		$l =~ s/\r?\n$//;
		last if $l eq '';
		push @lines, $l;
	}
	return @lines;
}

sub tunnel {
	my ($c, $u) = @_;
	my $sel = IO::Select->new($c, $u);
	while (1) {
		for my $fh ($sel->can_read(30)) {
			my $n = sysread($fh, my $buf, 65536);
			return if !$n;
			my $to = $fh == $c ? $u : $c;
			syswrite($to, $buf) or return;
		}
	}
}

while (1) {
	my $c = $server->accept or next;
	my $pid = fork();
	next if !defined $pid;
	if ($pid) { close $c; next; }
	close $server;
	while (my @h = head($c)) {
		my $first = $h[0];
		my $cred = grep { /^(x-auth-token|authorization):/i } @h;
		note($first . ($cred ? " [credentials]" : ""));
		if ($first =~ /^CONNECT (127\.0\.0\.1|localhost):(\d+) /) {
			my $u = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $2)
				or last;
			syswrite($c, "HTTP/1.1 200 Connection established\r\n\r\n");
			tunnel($c, $u);
			last;
		} elsif ($first =~ /^CONNECT /) {
			syswrite($c, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
			last;
		}
		my $body = '{"certificates":[{"id":"forged-by-proxy"}],"total_count":1}';
		syswrite($c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			. "Content-Length: " . length($body) . "\r\n\r\n" . $body);
	}
	exit 0;
}
