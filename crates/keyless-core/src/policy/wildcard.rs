//! IAM's string wildcards, used by the evaluator (condition values, resources) and the action
//! table (action names). A leaf: it knows nothing of documents or policies.

/// IAM string wildcard match: `*` any sequence (including empty), `?` one character; `${*}`,
/// `${?}` and `${$}` are literal `*`, `?` and `$`.
pub fn like(pattern: &str, value: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Tok {
        Lit(char),
        Any,
        One,
    }
    let mut toks = Vec::new();
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '$' if chars.get(i + 1) == Some(&'{')
                && chars.get(i + 3) == Some(&'}')
                && matches!(chars.get(i + 2), Some('*' | '?' | '$')) =>
            {
                toks.push(Tok::Lit(chars[i + 2]));
                i += 4;
                continue;
            }
            '*' => toks.push(Tok::Any),
            '?' => toks.push(Tok::One),
            c => toks.push(Tok::Lit(c)),
        }
        i += 1;
    }
    let v: Vec<char> = value.chars().collect();
    // Iterative glob with single backtrack point.
    let (mut p, mut s) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while s < v.len() {
        if p < toks.len() && (toks[p] == Tok::One || toks[p] == Tok::Lit(v[s])) {
            p += 1;
            s += 1;
        } else if p < toks.len() && toks[p] == Tok::Any {
            star = Some(p);
            mark = s;
            p += 1;
        } else if let Some(st) = star {
            p = st + 1;
            mark += 1;
            s = mark;
        } else {
            return false;
        }
    }
    while p < toks.len() && toks[p] == Tok::Any {
        p += 1;
    }
    p == toks.len()
}
