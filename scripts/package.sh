#!/bin/bash
# Packages for sites: the Debian package slurm-spank-nam56r (debian/) and an
# RPM (nam56r-launch.spec), built from a clean copy of this tree, and the
# checks CI runs on the Debian one.
#
# Usage: scripts/package.sh deb     [--out DIR] [--no-lintian]
#                 dpkg-buildpackage -b, then lintian (unless --no-lintian)
#        scripts/package.sh install [--out DIR]  dpkg -i the built .deb, check
#                 its files, run the demo against it (scripts/demo.sh
#                 --installed), dpkg -r, check no plugin is left, dpkg -P
#        scripts/package.sh rpm     [--out DIR]  rpmbuild -bb of the spec
# DIR defaults to ./build-pkg. Root only for `install`. Exit status: 0 when
# every step passed, 1 otherwise, 2 on usage.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build-pkg lint=1
usage() { sed -n '6,13p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
die() { echo "package.sh: $*" >&2; exit 1; }
[ $# -ge 1 ] || usage
cmd=$1; shift
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=$2; shift ;;
	--no-lintian) lint=0 ;;
	-h|--help) usage ;;
	*) echo "package.sh: unknown argument $1" >&2; usage ;;
	esac
	shift
done
case $out in /*) ;; *) out=$(pwd)/$out ;; esac
version=$(sed -n 's/^AC_INIT(\[nam56r-launch\], \[\([^]]*\)\].*/\1/p' "$top/configure.ac")
[ -n "$version" ] || die "no version in configure.ac"

# copy_tree DEST: the source tree without builds, VCS data or generated
# autotools files (the package's build regenerates them).
copy_tree() {
	rm -rf "$1" && mkdir -p "$1" || return 1
	(cd "$top" && tar -c --exclude='./build*' --exclude=./.git \
		--exclude=./autom4te.cache --exclude=./configure \
		--exclude=./aclocal.m4 --exclude=./config.h.in \
		--exclude=./build-aux --exclude='Makefile.in' \
		--exclude=./fuzz-out --exclude='*.tar.gz' .) | tar -x -C "$1"
}

cmd_deb() {
	local deb_version src=$out/deb/nam56r-launch-$version
	deb_version=$(sed -n '1s/^nam56r-launch (\([^)]*\)).*/\1/p' "$top/debian/changelog")
	[ "$deb_version" = "$version" ] ||
		die "debian/changelog is at $deb_version, configure.ac at $version"
	command -v dpkg-buildpackage >/dev/null || die "dpkg-buildpackage not found (run scripts/deps.sh)"
	rm -rf "$out/deb" && copy_tree "$src" || die "cannot copy the tree to $src"
	echo "package.sh: dpkg-buildpackage -b in $src"
	(cd "$src" && dpkg-buildpackage -b -us -uc) >"$out/deb/build.log" 2>&1 || {
		tail -40 "$out/deb/build.log" >&2
		die "dpkg-buildpackage failed (log: $out/deb/build.log)"
	}
	local f
	for f in "$out"/deb/slurm-spank-nam56r_*.deb; do
		echo "package.sh: built $f"
		dpkg-deb -I "$f" | sed -n 's/^ \(Version\|Depends\):/    \1:/p'
		dpkg-deb -c "$f" | awk '{print "    " $1 " " $2 " " $6}'
	done
	[ $lint = 1 ] || return 0
	command -v lintian >/dev/null || die "lintian not found (run scripts/deps.sh)"
	echo "package.sh: lintian"
	lintian --info --display-info "$out"/deb/*.changes >"$out/deb/lintian.txt" 2>&1
	local rc=$?
	sed 's/^/    /' "$out/deb/lintian.txt"
	[ -s "$out/deb/lintian.txt" ] || echo "    (no tags)"
	[ $rc = 0 ] || die "lintian exited $rc"
}

cmd_install() {
	[ "$(id -u)" = 0 ] || die "install must run as root (dpkg -i)"
	local deb plugin rc=0 f
	deb=$(ls "$out"/deb/slurm-spank-nam56r_*.deb 2>/dev/null | head -1)
	[ -n "$deb" ] || die "no package in $out/deb (scripts/package.sh deb first)"
	echo "package.sh: dpkg -i $deb"
	dpkg -i "$deb" || die "dpkg -i failed"
	plugin=$(dpkg-query -L slurm-spank-nam56r | grep '/spank_nam56r\.so$')
	# What a site gets: the plugin where Slurm loads plugins, the drop-in
	# commented out, the policy a root-owned conffile, the manual pages.
	for f in "$plugin" /usr/bin/nam56r-launch /etc/nam56r/policy.yaml \
		/etc/slurm/plugstack.conf.d/nam56r.conf \
		/usr/share/man/man8/spank_nam56r.8.gz /usr/share/man/man1/nam56r-launch.1.gz \
		/usr/share/man/man5/nam56r.yaml.5.gz /usr/share/man/man5/nam56r-policy.5.gz; do
		[ -f "$f" ] || { echo "package.sh: $f not installed" >&2; rc=1; }
	done
	[ "$(stat -c '%U:%G %a' /etc/nam56r/policy.yaml)" = "root:root 644" ] ||
		{ echo "package.sh: policy.yaml is $(stat -c '%U:%G %a' /etc/nam56r/policy.yaml)" >&2; rc=1; }
	dpkg-query -W -f='${Conffiles}\n' slurm-spank-nam56r | grep -q ' /etc/nam56r/policy.yaml ' ||
		{ echo "package.sh: policy.yaml is not a conffile" >&2; rc=1; }
	grep -Eq '^[[:space:]]*(required|optional)' /etc/slurm/plugstack.conf.d/nam56r.conf &&
		{ echo "package.sh: the drop-in enables the plugin on installation" >&2; rc=1; }
	grep -q "^#required $plugin " /etc/slurm/plugstack.conf.d/nam56r.conf ||
		{ echo "package.sh: the drop-in does not name $plugin" >&2; rc=1; }
	echo "package.sh: installed $plugin; the demo against the package"
	BUILD=${BUILD:-$top/build} bash "$top/scripts/demo.sh" --no-deps --installed || rc=1
	echo "package.sh: dpkg -r slurm-spank-nam56r"
	dpkg -r slurm-spank-nam56r || rc=1
	[ ! -e "$plugin" ] || { echo "package.sh: dpkg -r left $plugin" >&2; rc=1; }
	[ ! -e /usr/bin/nam56r-launch ] || { echo "package.sh: dpkg -r left /usr/bin/nam56r-launch" >&2; rc=1; }
	echo "package.sh: after dpkg -r, conffiles kept: $(ls /etc/nam56r/policy.yaml /etc/slurm/plugstack.conf.d/nam56r.conf 2>/dev/null | tr '\n' ' ')"
	dpkg -P slurm-spank-nam56r >/dev/null || rc=1
	[ ! -e /etc/nam56r/policy.yaml ] || { echo "package.sh: dpkg -P left /etc/nam56r/policy.yaml" >&2; rc=1; }
	[ $rc = 0 ] && echo "package.sh: install, demo, remove, purge: ok"
	return $rc
}

cmd_rpm() {
	command -v rpmbuild >/dev/null || die "rpmbuild not found (run scripts/deps.sh)"
	local r=$out/rpm name=nam56r-launch-$version
	rm -rf "$r" && mkdir -p "$r/SOURCES" "$r/SPECS" || die "cannot create $r"
	copy_tree "$r/$name" || die "cannot copy the tree"
	tar -C "$r" -czf "$r/SOURCES/$name.tar.gz" "$name" && rm -rf "${r:?}/$name" ||
		die "cannot make the source tarball"
	sed "s/@VERSION@/$version/" "$top/nam56r-launch.spec.in" >"$r/SPECS/nam56r-launch.spec"
	# Debian's rpm has no RPM database of the build dependencies: --nodeps.
	echo "package.sh: rpmbuild -bb in $r"
	rpmbuild -bb --nodeps --define "_topdir $r" "$r/SPECS/nam56r-launch.spec" \
		>"$r/build.log" 2>&1 || {
		tail -40 "$r/build.log" >&2
		die "rpmbuild failed (log: $r/build.log)"
	}
	local f
	for f in "$r"/RPMS/*/*.rpm; do
		echo "package.sh: built $f"
		rpm -qp --qf '    %{NAME} %{VERSION}-%{RELEASE}\n' "$f" 2>/dev/null; rpm -qp --requires "$f" 2>/dev/null | grep -i slurm | sed 's/^/    requires: /'
		rpm -qlp "$f" 2>/dev/null | sed 's/^/    /'
	done
}

case $cmd in
deb) cmd_deb ;;
install) cmd_install ;;
rpm) cmd_rpm ;;
*) usage ;;
esac
