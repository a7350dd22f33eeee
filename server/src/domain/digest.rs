//! The staff digest: one email a day per member of staff, listing per place what is overdue
//! and what is new, in the person's language. Composed here from facts the caller gathered;
//! sending and scheduling are elsewhere.

/// Issues listed per section at most; the rest are counted ("and 3 more"), so a bad day in a
/// large place still makes a mail a person reads.
pub const SECTION_CAP: usize = 20;

/// What one day's digest says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestFacts {
    /// `zh` or `en`; anything else reads as `zh`.
    pub language: String,
    /// The person's display name.
    pub name: String,
    /// The day it is about, `YYYY-MM-DD`.
    pub day: String,
    pub places: Vec<DigestPlace>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestPlace {
    pub name: String,
    /// Issues not yet closed.
    pub open: u32,
    pub overdue: Vec<DigestIssue>,
    pub new: Vec<DigestIssue>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestIssue {
    pub id: i64,
    pub title: String,
    /// The state as a person reads it, in the digest's language.
    pub state: String,
    /// When it is due or how old it is, as a person reads it (`due 3 days ago`, `2 小时前`).
    pub when: String,
}

/// A composed digest: `html` is escaped throughout and ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestMail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

struct Words {
    lang: &'static str,
    subject: fn(&str, usize, usize) -> String,
    greeting: fn(&str) -> String,
    intro: fn(&str) -> String,
    open: fn(u32) -> String,
    overdue: &'static str,
    new: &'static str,
    more: fn(usize) -> String,
    nothing: &'static str,
    footer: &'static str,
}

const ZH: Words = Words {
    lang: "zh",
    subject: |day, new, overdue| {
        if new + overdue == 0 {
            format!("和合每日摘要 {day}：今日无新事项")
        } else {
            format!("和合每日摘要 {day}：新事项 {new} 件，逾期 {overdue} 件")
        }
    },
    greeting: |name| format!("{name}，您好："),
    intro: |day| format!("以下是 {day} 您负责的地方的事项。"),
    open: |n| format!("未结事项 {n} 件"),
    overdue: "逾期",
    new: "新事项",
    more: |n| format!("另有 {n} 件"),
    nothing: "今日无新事项，也没有逾期事项。",
    footer: "可在和合的通知设置中更改摘要的接收方式。",
};

const EN: Words = Words {
    lang: "en",
    subject: |day, new, overdue| {
        if new + overdue == 0 {
            format!("Hehe daily digest {day}: nothing new")
        } else {
            format!("Hehe daily digest {day}: {new} new, {overdue} overdue")
        }
    },
    greeting: |name| format!("Hello {name},"),
    intro: |day| format!("Here are the issues of your places for {day}."),
    open: |n| format!("{n} open"),
    overdue: "Overdue",
    new: "New",
    more: |n| format!("and {n} more"),
    nothing: "Nothing new today, and nothing overdue.",
    footer: "You can change how you receive digests in Hehe's notification settings.",
};

/// The digest mail for `facts`; issue links point at `<base_url>/#issue/<id>`.
pub fn compose(facts: &DigestFacts, base_url: &str) -> DigestMail {
    let words = if facts.language == "en" { &EN } else { &ZH };
    let base = base_url.trim_end_matches('/');
    let new: usize = facts.places.iter().map(|p| p.new.len()).sum();
    let overdue: usize = facts.places.iter().map(|p| p.overdue.len()).sum();
    let quiet = new + overdue == 0;

    let mut text = format!(
        "{}\n\n{}\n",
        (words.greeting)(&facts.name),
        (words.intro)(&facts.day)
    );
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"></head><body>\n\
         <p>{}</p>\n<p>{}</p>\n",
        words.lang,
        escape(&(words.greeting)(&facts.name)),
        escape(&(words.intro)(&facts.day)),
    );
    if quiet {
        text.push_str(&format!("\n{}\n", words.nothing));
        html.push_str(&format!("<p>{}</p>\n", escape(words.nothing)));
    }
    for place in &facts.places {
        let open = (words.open)(place.open);
        text.push_str(&format!("\n== {} ({open})\n", place.name));
        html.push_str(&format!(
            "<h2>{} <small>({})</small></h2>\n",
            escape(&place.name),
            escape(&open)
        ));
        for (heading, issues) in [(words.overdue, &place.overdue), (words.new, &place.new)] {
            if issues.is_empty() {
                continue;
            }
            text.push_str(&format!("\n{heading}:\n"));
            html.push_str(&format!("<h3>{}</h3>\n<ul>\n", escape(heading)));
            for issue in issues.iter().take(SECTION_CAP) {
                let link = format!("{base}/#issue/{}", issue.id);
                text.push_str(&format!(
                    "- #{} {} [{}, {}]\n  {link}\n",
                    issue.id, issue.title, issue.state, issue.when
                ));
                html.push_str(&format!(
                    "<li><a href=\"{}\">#{} {}</a> ({}, {})</li>\n",
                    escape(&link),
                    issue.id,
                    escape(&issue.title),
                    escape(&issue.state),
                    escape(&issue.when),
                ));
            }
            if issues.len() > SECTION_CAP {
                let more = (words.more)(issues.len() - SECTION_CAP);
                text.push_str(&format!("- {more}\n"));
                html.push_str(&format!("<li>{}</li>\n", escape(&more)));
            }
            html.push_str("</ul>\n");
        }
    }
    text.push_str(&format!("\n{}\n", words.footer));
    html.push_str(&format!(
        "<p><small>{}</small></p>\n</body></html>\n",
        escape(words.footer)
    ));
    DigestMail {
        subject: (words.subject)(&facts.day, new, overdue),
        text,
        html,
    }
}

/// Text made safe for HTML, in element content and in quoted attributes alike.
pub fn escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue(id: i64, title: &str) -> DigestIssue {
        DigestIssue {
            id,
            title: title.into(),
            state: "处理中".into(),
            when: "2 天前到期".into(),
        }
    }

    fn facts(language: &str) -> DigestFacts {
        DigestFacts {
            language: language.into(),
            name: "王主任".into(),
            day: "2025-03-14".into(),
            places: vec![
                DigestPlace {
                    name: "幸福里社区".into(),
                    open: 7,
                    overdue: vec![issue(12, "路灯不亮")],
                    new: vec![issue(31, "垃圾桶满了"), issue(32, "电梯异响")],
                },
                DigestPlace {
                    name: "湖畔小区".into(),
                    open: 0,
                    overdue: vec![],
                    new: vec![],
                },
            ],
        }
    }

    #[test]
    fn chinese_throughout_with_links_to_each_issue() {
        let mail = compose(&facts("zh"), "https://hehe.example/");
        assert_eq!(
            mail.subject,
            "和合每日摘要 2025-03-14：新事项 2 件，逾期 1 件"
        );
        for part in [&mail.text, &mail.html] {
            assert!(part.contains("王主任，您好"), "{part}");
            assert!(part.contains("幸福里社区") && part.contains("湖畔小区"));
            assert!(
                part.contains("未结事项 7 件") && part.contains("逾期") && part.contains("新事项")
            );
            assert!(part.contains("https://hehe.example/#issue/12"));
            assert!(part.contains("https://hehe.example/#issue/32"));
            assert!(!part.contains("Overdue") && !part.contains("Hello"));
        }
        assert!(mail.text.contains("#12 路灯不亮"));
        assert!(mail.html.contains("<html lang=\"zh\">"));
    }

    #[test]
    fn english_throughout() {
        let mail = compose(&facts("en"), "https://hehe.example");
        assert_eq!(
            mail.subject,
            "Hehe daily digest 2025-03-14: 2 new, 1 overdue"
        );
        for part in [&mail.text, &mail.html] {
            assert!(part.contains("Hello 王主任,"));
            assert!(part.contains("7 open") && part.contains("Overdue") && part.contains("New"));
            assert!(part.contains("https://hehe.example/#issue/31"));
            assert!(!part.contains("您好") && !part.contains("未结"));
        }
        assert!(mail.html.contains("<html lang=\"en\">"));
    }

    #[test]
    fn every_interpolated_string_is_escaped_in_the_html() {
        let mut f = facts("en");
        f.name = "<b>Eve</b>".into();
        f.places[0].name = "A & B \"Court\"".into();
        f.places[0].new[0].title = "<script>alert('x')</script>".into();
        f.places[0].new[0].state = "<i>open</i>".into();
        let mail = compose(&f, "https://hehe.example/\"><script>");
        assert!(!mail.html.contains("<script>"), "{}", mail.html);
        assert!(!mail.html.contains("<b>") && !mail.html.contains("<i>"));
        assert!(
            mail.html
                .contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;")
        );
        assert!(mail.html.contains("A &amp; B &quot;Court&quot;"));
        assert!(mail.html.contains("&lt;b&gt;Eve&lt;/b&gt;"));
        // The plain part is text, shown as written.
        assert!(mail.text.contains("<script>alert('x')</script>"));
    }

    #[test]
    fn long_sections_are_capped_with_a_count_of_the_rest() {
        for (language, more) in [("en", "and 5 more"), ("zh", "另有 5 件")] {
            let mut f = facts(language);
            f.places[0].new = (1..=(SECTION_CAP as i64 + 5))
                .map(|id| issue(id, &format!("issue number {id}")))
                .collect();
            let mail = compose(&f, "https://hehe.example");
            for part in [&mail.text, &mail.html] {
                assert!(part.contains(&format!("issue number {SECTION_CAP}")));
                assert!(!part.contains(&format!("issue number {}", SECTION_CAP + 1)));
                assert!(part.contains(more), "{part}");
            }
            assert!(mail.subject.contains(&(SECTION_CAP + 5).to_string()));
        }
    }

    #[test]
    fn a_quiet_day_says_nothing_new() {
        for (language, nothing, subject) in [
            (
                "en",
                "Nothing new today",
                "Hehe daily digest 2025-03-14: nothing new",
            ),
            (
                "zh",
                "今日无新事项",
                "和合每日摘要 2025-03-14：今日无新事项",
            ),
        ] {
            let mut f = facts(language);
            for place in &mut f.places {
                place.new.clear();
                place.overdue.clear();
            }
            let mail = compose(&f, "https://hehe.example");
            assert_eq!(mail.subject, subject);
            assert!(mail.text.contains(nothing) && mail.html.contains(nothing));
            assert!(!mail.html.contains("<ul>") && !mail.text.contains("#issue/"));
        }
    }
}
