//! The files `service jail start <name>` needs for a thin jail: the common `/etc/jail.conf`,
//! `/etc/jail.conf.d/<name>.conf` and the nullfs fstab — the recipe's layout, corrected.
//!
//! Corrections against the recipe (RECIPE.md, "what the recipe leaves to chance"):
//! - the jail's `exec.start` is replaced (`=`), so the address and default route are set
//!   *before* `/bin/sh /etc/rc` runs, not after it;
//! - no fixed epair unit: `ifconfig epair create` picks one and the pair is renamed at once to
//!   `<name>_a`/`<name>_b` (jail.conf commands cannot share a shell variable, so stable names are
//!   how later commands find the pair);
//! - a pair left over from a failed start (jail(8) does not run `exec.poststop` then) is
//!   destroyed by the next `exec.prestart` before a new one is made;
//! - `exec.prestart` first checks that the devfs ruleset holds rules (`devfs rule -s N show`;
//!   a ruleset merely existing proves nothing, devfs_rule.c `devfs_ruleset_use` creates it empty
//!   when jail(8)'s mount.devfs names it) and that the jail's /dev, which jail(8) has mounted by
//!   then (jail.c `startcommands`: `IP_MOUNT_DEVFS` before `IP_EXEC_PRESTART`), hides `mem`,
//!   `kmem` and `io`; otherwise jail(8) fails the start and unmounts what it mounted;
//! - `interface = igc0bridge;` is dropped from the common part: it only applies to non-VNET
//!   `ip4.addr` aliases and has no effect on VNET jails;
//! - the jail's file repeats the common defaults: rc.d/jail (boot, `service jail start NAME`)
//!   runs `jail -f /etc/jail.conf.d/NAME.conf`, which never reads `/etc/jail.conf`.
//!
//! ```
//! use thinjail_core::model::ThinJail;
//! use thinjail_core::jailconf::{render, Config};
//! let dev = ThinJail::recipe_dev();
//! let text = render(&dev.jail_conf());
//! assert!(text.contains("dev {\n  path = \"/zdata/jails/${name}-nullfs-base\";\n"));
//! let j = &Config::from_text(&text, "dev.conf").unwrap().resolve().unwrap()[0];
//! assert_eq!(j.scalar("vnet.interface"), Some("dev_b"));
//! ```

use crate::fstab::{Fstab, FstabLine};
use crate::jailconf::{ConfFile, Item, JailBlock, Op, Param, Part, Pos, Value};
use crate::model::ThinJail;

fn lit_var(parts: &[(&str, bool)]) -> Value {
    Value::from_parts(
        parts
            .iter()
            .map(|(s, var)| {
                if *var {
                    Part::Var((*s).to_string())
                } else {
                    Part::Lit((*s).to_string())
                }
            })
            .collect(),
    )
}

/// Parses a short template where `${x}` is a variable reference and `\$` a literal `$`.
fn tpl(s: &str) -> Value {
    let mut parts = Vec::new();
    let mut lit = String::new();
    let mut rest = s;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("\\$") {
            lit.push('$');
            rest = r;
        } else if let Some(r) = rest.strip_prefix("${")
            && let Some(end) = r.find('}')
        {
            parts.push(Part::Lit(std::mem::take(&mut lit)));
            parts.push(Part::Var(r[..end].to_string()));
            rest = &r[end + 1..];
        } else {
            let c = rest.chars().next().unwrap_or_default();
            lit.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    parts.push(Part::Lit(lit));
    Value::from_parts(parts)
}

fn set(name: &str, v: Value) -> Param {
    Param::with(name, false, Op::Set, vec![v])
}

fn append(name: &str, v: Value) -> Param {
    Param::with(name, false, Op::Append, vec![v])
}

fn var(name: &str, v: &str) -> Param {
    Param::with(name, true, Op::Set, vec![Value::lit(v)])
}

/// The defaults every thin jail gets (the recipe's common part): in `/etc/jail.conf` for every
/// jail, and repeated in each jail's own block — rc.d/jail starts a jail with
/// `jail -f /etc/jail.conf.d/NAME.conf` when that file exists (rc.d/jail `parse_options`: it
/// tries `/etc/jail.NAME.conf`, then `/etc/jail.conf.d/NAME.conf`, and only then
/// `$jail_conf`), so at boot and with `service jail start|stop NAME` the common file is never
/// read. `exec.start` is left out for a VNET jail, whose block sets its own.
fn common_params(with_exec_start: bool) -> Vec<Param> {
    let mut v = Vec::new();
    if with_exec_start {
        v.push(set("exec.start", Value::lit("/bin/sh /etc/rc")));
    }
    v.extend([
        set("exec.stop", Value::lit("/bin/sh /etc/rc.shutdown")),
        set(
            "exec.consolelog",
            lit_var(&[
                ("/var/log/jail_console_", false),
                ("name", true),
                (".log", false),
            ]),
        ),
        Param::bare("allow.raw_sockets"),
        Param::bare("exec.clean"),
        Param::bare("mount.devfs"),
    ]);
    v
}

impl ThinJail {
    /// The common `/etc/jail.conf`: defaults for every jail and the `.include` of
    /// `/etc/jail.conf.d/*.conf`.
    pub fn jail_conf_common(&self) -> ConfFile {
        let mut items = common_params(true);
        items[0].comments = vec!["# Defaults for every jail; written by thinjail.".into()];
        items.push(set("host.hostname", lit_var(&[("name", true)])));
        let mut items: Vec<Item> = items.into_iter().map(Item::Param).collect();
        items.push(Item::Include(crate::jailconf::Include {
            comments: Vec::new(),
            pattern: "/etc/jail.conf.d/*.conf".into(),
            pos: Pos::default(),
        }));
        ConfFile {
            items,
            trailing_comments: Vec::new(),
        }
    }

    /// `/etc/jail.conf.d/<name>.conf`: this jail's block.
    pub fn jail_conf(&self) -> ConfFile {
        let root_rel = self
            .root()
            .strip_prefix(self.layout().root())
            .map(|p| p.to_string_lossy().to_string())
            .unwrap_or_default();
        let root_dir = self.layout().root().to_string_lossy().to_string();
        // path = "<root>/${name}-nullfs-base", as the recipe writes it, when the name is the jail's.
        let path = if root_rel == format!("{}-nullfs-base", self.name()) {
            lit_var(&[
                (&format!("{root_dir}/"), false),
                ("name", true),
                ("-nullfs-base", false),
            ])
        } else {
            Value::lit(self.root().to_string_lossy())
        };
        let fstab = lit_var(&[
            (&format!("{root_dir}/"), false),
            ("name", true),
            ("-nullfs-base.fstab", false),
        ]);
        let rs = self.devfs().ruleset().to_string();
        let mut p = vec![
            set("path", path),
            set("mount.fstab", fstab),
            set("devfs_ruleset", Value::lit(&rs)),
        ];
        // Self-contained: what /etc/jail.conf gives every jail is repeated here (see
        // `common_params`), so `jail -f` of this file alone resolves to the same jail.
        p.extend(common_params(self.vnet().is_none()));
        if self.hostname() != self.name() {
            p.push(set("host.hostname", Value::lit(self.hostname())));
        } else {
            p.push(set("host.hostname", lit_var(&[("name", true)])));
        }
        for jp in self.params() {
            p.push(match &jp.value {
                Some(v) => set(&jp.name, Value::lit(v)),
                None => Param::bare(&jp.name),
            });
        }
        let mut check = append(
            "exec.prestart",
            tpl(&format!(
                "devfs rule -s {rs} show | grep -q . && [ ! -e \"${{path}}/dev/mem\" ] && [ ! -e \"${{path}}/dev/kmem\" ] && [ ! -e \"${{path}}/dev/io\" ] || {{ echo \"devfs ruleset {rs} has no rules or leaves ${{path}}/dev/mem, kmem or io visible\" >&2; exit 1; }}"
            )),
        );
        check.op = Op::Set;
        if let Some(v) = self.vnet() {
            let (a, b) = self.derived_epair_names();
            p.push(Param::bare("vnet"));
            p.push(set("vnet.interface", tpl("${epair_b}")));
            p.push(var("bridge", &v.bridge));
            p.push(var("ip", &v.address.to_string()));
            p.push(var("gateway", &v.gateway.to_string()));
            if let Some((n6, g6)) = &v.ipv6 {
                p.push(var("ip6", &n6.to_string()));
                if let Some(g) = g6 {
                    p.push(var("gateway6", &g.to_string()));
                }
            }
            p.push(var("epair_a", &a));
            p.push(var("epair_b", &b));
            p.push(check);
            p.push(append(
                "exec.prestart",
                tpl("ifconfig ${epair_a} destroy 2>/dev/null || true"),
            ));
            p.push(append(
                "exec.prestart",
                tpl("e=\\$(ifconfig epair create) && ifconfig \\$e name ${epair_a} && ifconfig \\${e%a}b name ${epair_b}"),
            ));
            p.push(append(
                "exec.prestart",
                tpl("ifconfig ${epair_a} up descr jail:${name}"),
            ));
            p.push(append(
                "exec.prestart",
                tpl("ifconfig ${bridge} addm ${epair_a}"),
            ));
            p.push(set("exec.start", tpl("ifconfig ${epair_b} inet ${ip} up")));
            p.push(append("exec.start", tpl("route add default ${gateway}")));
            if let Some((_, g6)) = &v.ipv6 {
                p.push(append(
                    "exec.start",
                    tpl("ifconfig ${epair_b} inet6 ${ip6} up"),
                ));
                if g6.is_some() {
                    p.push(append(
                        "exec.start",
                        tpl("route -6 add default ${gateway6}"),
                    ));
                }
            }
            p.push(append("exec.start", Value::lit("/bin/sh /etc/rc")));
            p.push(set(
                "exec.poststop",
                tpl("ifconfig ${bridge} deletem ${epair_a}"),
            ));
            p.push(append("exec.poststop", tpl("ifconfig ${epair_a} destroy")));
        } else {
            p.push(check);
        }
        ConfFile {
            items: vec![Item::Jail(JailBlock {
                comments: vec![format!("# Thin jail {}; written by thinjail.", self.name())],
                name: self.name().to_string(),
                params: p,
                trailing_comments: Vec::new(),
                pos: Pos::default(),
            })],
            trailing_comments: Vec::new(),
        }
    }

    /// The nullfs fstab: template read-only at the root, the clone read-write at `/skeleton`.
    pub fn fstab(&self) -> Fstab {
        Fstab {
            lines: self
                .mounts()
                .iter()
                .map(|m| FstabLine::Entry(m.fstab_entry()))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::jailconf::{Config, dump_json, render};
    use crate::model::{ThinJailSpec, VnetStrings};

    /// What jail(8) resolves for `name` from `text` (every parameter, in JSON).
    fn resolved(text: &str, name: &str) -> serde_json::Value {
        let jails = Config::from_text(text, "jail.conf")
            .unwrap()
            .resolve()
            .unwrap();
        let j: Vec<_> = jails.into_iter().filter(|j| j.name == name).collect();
        assert_eq!(j.len(), 1, "{text}");
        dump_json(&j)
    }

    /// rc.d/jail `parse_options` picks `/etc/jail.conf.d/NAME.conf` alone when it exists
    /// (boot, `service jail start|stop NAME`); `jail -c NAME` reads `/etc/jail.conf`, which
    /// includes it after the defaults. Both must give the jail the same parameters.
    #[test]
    fn the_jails_file_alone_resolves_as_jail_conf_does() {
        let vnet6 = VnetStrings {
            ipv6: Some("2001:db8:7::fd/64".into()),
            ipv6_gateway: Some("2001:db8:7::1".into()),
            ..Default::default()
        };
        let specs = [
            ThinJailSpec::default(),
            ThinJailSpec {
                vnet: Some(vnet6),
                hostname: "dev.example.org".into(),
                ..Default::default()
            },
            ThinJailSpec {
                name: "plain".into(),
                vnet: None,
                ..Default::default()
            },
        ];
        for spec in specs {
            let j = spec.build().unwrap();
            let common = j.jail_conf_common();
            // The .include expands in place, at the end: common defaults, then this file.
            let mut defaults = common.clone();
            defaults
                .items
                .retain(|i| !matches!(i, crate::jailconf::Item::Include(_)));
            let own = render(&j.jail_conf());
            let via_jail_conf = format!("{}\n{own}", render(&defaults));
            let alone = resolved(&own, j.name());
            assert_eq!(resolved(&via_jail_conf, j.name()), alone, "{own}");
            // And the defaults are really there when the file is read alone.
            let s = alone.to_string();
            for p in ["exec.stop", "exec.consolelog", "exec.clean", "mount.devfs"] {
                assert!(s.contains(p), "{p} missing from {s}");
            }
        }
    }

    #[test]
    fn template_values() {
        assert_eq!(
            tpl("a ${x} \\$y"),
            Value::from_parts(vec![
                Part::Lit("a ".into()),
                Part::Var("x".into()),
                Part::Lit(" $y".into())
            ])
        );
    }
}
