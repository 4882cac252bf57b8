"""Python-Markdown extensions that make its output match Hugo's (goldmark's) where readers would notice.

Each module reproduces one goldmark behaviour and says why Python-Markdown
needs it; markdown.py registers them. tests/hugo/ compares with real Hugo.

  fences.py        fenced code found as goldmark (and the shortcodes stage) finds it
  highlighting.py  code -> Chroma's HTML markup (also for the highlight shortcode and cells)
  lists.py         CommonMark list nesting, interruption, and whole-list looseness
  blockquotes.py   one quote per `>` run; fences and lists inside quotes
  inline.py        backslash escapes and breaks, code spans, trailing spaces
  links.py         link titles in parentheses, broken titles, plain-text image alts
  linkify.py       bare URLs and <autolinks> linked where goldmark links them
  raw_html.py      raw HTML omitted unless the site allows it
  headings.py      CommonMark ATX headings and Hugo's heading ids
  tables.py        GFM's escaped pipes in table cells
  footnotes.py     goldmark's footnote numbering and markup
  typographer.py   goldmark's smart quotes, dashes and ellipses
"""
