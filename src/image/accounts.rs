//! An image's /etc/passwd and /etc/group: the names its author gave to ids.
//!
//! The kernel knows only numbers; `USER student`, `-u student:staff` and
//! `COPY --chown=student` are resolved here, in the image's own account files
//! (read inside the image by [`super::inroot`]), never the host's. Each line
//! is `name:password:id:…` with fields split by `:`; /etc/passwd's fourth
//! field is the user's primary group id.

/// A user's entry in /etc/passwd. An id field that is not a number reads as
/// `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserEntry {
    pub name: String,
    pub uid: Option<u64>,
    /// The primary group id.
    pub gid: Option<u64>,
    /// The home directory (field 6; empty when the line has none).
    pub home: String,
}

/// The first line of an account file whose name (field 1) or id (field 3)
/// is `key`, split into its fields.
fn find<'a>(file: &'a str, key: &str) -> Option<Vec<&'a str>> {
    file.lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() >= 3 && (f[0] == key || f[2] == key))
}

fn user_entry(fields: &[&str]) -> UserEntry {
    UserEntry {
        name: fields[0].to_string(),
        uid: fields[2].parse().ok(),
        gid: fields.get(3).and_then(|g| g.parse().ok()),
        home: fields.get(5).map(|h| h.to_string()).unwrap_or_default(),
    }
}

/// The user `key` (a name or a uid) in the text of /etc/passwd.
pub fn find_user(passwd: &str, key: &str) -> Option<UserEntry> {
    find(passwd, key).map(|f| user_entry(&f))
}

/// The first user whose uid (field 3) is `uid`: how runc reads a numeric
/// `-u 1000`, never as a name.
pub fn find_uid(passwd: &str, uid: u64) -> Option<UserEntry> {
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() >= 3 && f[2].parse::<u64>().ok() == Some(uid))
        .map(|f| user_entry(&f))
}

/// The ids of the groups that list `user` among their members (field 4 of
/// /etc/group, comma-separated), in file order: the supplementary groups
/// runc gives a user named without a group (`-u app`, not `-u app:staff`).
pub fn member_groups(group: &str, user: &str) -> Vec<u64> {
    group
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .filter(|f| f.len() >= 4 && f[3].split(',').any(|m| m.trim() == user))
        .filter_map(|f| f[2].parse().ok())
        .collect()
}

/// The id of the group `key` (a name or a gid) in the text of /etc/group;
/// `None` when it has no entry or its id is not a number.
pub fn find_group(group: &str, key: &str) -> Option<u64> {
    find(group, key)?[2].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_and_groups_by_name_or_id() {
        let passwd =
            "root:x:0:0::/root:/bin/sh\nstudent:x:1000:100::/home/student:/bin/sh\nodd:x:x\n";
        let group = "root:x:0:\nstaff:x:50:\n";
        let student = Some(UserEntry {
            name: "student".into(),
            uid: Some(1000),
            gid: Some(100),
            home: "/home/student".into(),
        });
        assert_eq!(find_user(passwd, "student"), student);
        assert_eq!(find_user(passwd, "1000"), student);
        assert_eq!(find_uid(passwd, 1000), student);
        assert_eq!(
            find_user(passwd, "odd"),
            Some(UserEntry {
                name: "odd".into(),
                uid: None,
                gid: None,
                home: String::new(),
            })
        );
        assert_eq!(find_user(passwd, "ghost"), None);
        assert_eq!(find_group(group, "staff"), Some(50));
        assert_eq!(find_group(group, "50"), Some(50));
        assert_eq!(find_group(group, "wheel"), None);
    }

    #[test]
    fn members_name_their_supplementary_groups() {
        let group = "root:x:0:\nwheel:x:10:root,app\naudio:x:29:app\nstaff:x:50:\n";
        assert_eq!(member_groups(group, "app"), vec![10, 29]);
        assert_eq!(member_groups(group, "root"), vec![10]);
        assert_eq!(member_groups(group, "nobody"), Vec::<u64>::new());
    }
}
