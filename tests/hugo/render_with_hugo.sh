#!/usr/bin/env bash
# Render tests/hugo/corpus/*.md with real Hugo (0.111) and store each post's
# .Content in tests/hugo/expected/<case>.html, the reference for test_hugo_parity.
# Usage: tests/hugo/render_with_hugo.sh   (needs `hugo` on PATH; no network)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
site="$(mktemp -d)"
trap 'rm -rf "$site"' EXIT

mkdir -p "$site/content/posts" "$site/layouts/_default" "$site/layouts/shortcodes"
# Hugo's defaults, except CSS classes for highlighting (runpost uses classes too).
cat > "$site/config.toml" <<'TOML'
baseURL = "https://example.org/"
disableKinds = ["taxonomy", "term", "RSS", "sitemap", "robotsTXT", "404"]
[markup.highlight]
  noClasses = false
TOML
# Only the rendered Markdown, nothing of a theme.
printf '{{ .Content }}' > "$site/layouts/_default/single.html"
printf '' > "$site/layouts/_default/list.html"
printf '' > "$site/layouts/index.html"
cp "$here"/hugo-shortcodes/*.html "$site/layouts/shortcodes/"
cp "$here"/corpus/*.md "$site/content/posts/"

hugo --quiet --source "$site" --destination "$site/public" >&2

rm -rf "$here/expected"
mkdir -p "$here/expected"
for source in "$here"/corpus/*.md; do
    name="$(basename "$source" .md)"
    cp "$site/public/posts/$name/index.html" "$here/expected/$name.html"
done
echo "wrote $(ls "$here/expected" | wc -l) cases to $here/expected" >&2
