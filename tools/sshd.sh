#!/usr/bin/env bash
# The local cluster's simulated hosts run OpenSSH's sshd (Debian's
# openssh-server) and the tests drive them with its ssh client: install them
# when missing and root, else say what to install. Prints nothing when all is
# there.
set -euo pipefail
missing=()
[[ -x /usr/sbin/sshd ]] || missing+=(openssh-server)
command -v ssh >/dev/null 2>&1 || missing+=(openssh-client)
((${#missing[@]} == 0)) && exit 0
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
	echo "tools/sshd.sh: installing ${missing[*]} for the local cluster's hosts" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >&2 ||
		{ apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >&2; }
	exit 0
fi
echo "tools/sshd.sh: the local cluster's hosts need ${missing[*]} (/usr/sbin/sshd, ssh): install it as root, e.g. apt-get install -y ${missing[*]}" >&2
exit 1
