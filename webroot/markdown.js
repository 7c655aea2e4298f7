/*
 * Safe Markdown for model output. It builds DOM nodes with createElement/textContent only and
 * never parses text as HTML, so "<script>" or "<img onerror=...>" in a reply stays visible text.
 * Supported: fenced code blocks (``` or ~~~, an unclosed fence while streaming runs to the end),
 * headings (#..######), bullet and numbered lists, block quotes, horizontal rules, paragraphs with
 * line breaks, and inline `code`, **bold**, *italic*, ~~strike~~ and [links](https://...) whose
 * target is http(s) or mailto. Everything else stays plain text.
 */
(function (global) {
  'use strict';

  const FENCE = /^\s{0,3}(`{3,}|~{3,})\s*([\w+#.-]*)\s*$/;
  const HEADING = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
  const BULLET = /^\s{0,3}[-*+]\s+(.*)$/;
  const NUMBERED = /^\s{0,3}(\d{1,9})[.)]\s+(.*)$/;
  const QUOTE = /^\s{0,3}>\s?(.*)$/;
  const RULE = /^\s{0,3}([-*_])(\s*\1){2,}\s*$/;

  function render(text, container) {
    container.textContent = '';
    blocks(String(text == null ? '' : text).replace(/\r\n?/g, '\n').split('\n'), container);
  }

  function blocks(lines, container) {
    let i = 0;
    while (i < lines.length) {
      const line = lines[i];
      let m;
      if ((m = line.match(FENCE))) {
        const close = new RegExp('^\\s{0,3}' + m[1][0] + '{' + m[1].length + ',}\\s*$');
        const code = [];
        i++;
        while (i < lines.length && !close.test(lines[i])) code.push(lines[i++]);
        i++; // the closing fence (or the end while a reply is still streaming)
        const pre = document.createElement('pre');
        const c = document.createElement('code');
        if (m[2]) c.dataset.lang = m[2];
        c.textContent = code.join('\n');
        pre.appendChild(c);
        container.appendChild(pre);
      } else if (line.trim() === '') {
        i++;
      } else if (RULE.test(line)) {
        container.appendChild(document.createElement('hr'));
        i++;
      } else if ((m = line.match(HEADING))) {
        const h = document.createElement('h' + Math.min(6, m[1].length + 2)); // h3..h6: inside a bubble
        inline(m[2], h);
        container.appendChild(h);
        i++;
      } else if (QUOTE.test(line)) {
        const inner = [];
        while (i < lines.length && (m = lines[i].match(QUOTE))) { inner.push(m[1]); i++; }
        const q = document.createElement('blockquote');
        blocks(inner, q);
        container.appendChild(q);
      } else if (BULLET.test(line) || NUMBERED.test(line)) {
        const numbered = !BULLET.test(line);
        const list = document.createElement(numbered ? 'ol' : 'ul');
        if (numbered) {
          const start = parseInt(line.match(NUMBERED)[1], 10);
          if (start !== 1) list.start = start;
        }
        const re = numbered ? NUMBERED : BULLET;
        while (i < lines.length && (m = lines[i].match(re))) {
          const li = document.createElement('li');
          inline(numbered ? m[2] : m[1], li);
          i++;
          // indented continuation lines belong to the item
          while (i < lines.length && /^\s{2,}\S/.test(lines[i]) && !BULLET.test(lines[i]) && !NUMBERED.test(lines[i])) {
            li.appendChild(document.createElement('br'));
            inline(lines[i].trim(), li);
            i++;
          }
          list.appendChild(li);
        }
        container.appendChild(list);
      } else {
        const p = document.createElement('p');
        let first = true;
        while (i < lines.length && lines[i].trim() !== '' && !startsBlock(lines[i])) {
          if (!first) p.appendChild(document.createElement('br'));
          inline(lines[i], p);
          first = false;
          i++;
        }
        container.appendChild(p);
      }
    }
  }

  function startsBlock(line) {
    return FENCE.test(line) || HEADING.test(line) || QUOTE.test(line) || BULLET.test(line)
      || NUMBERED.test(line) || RULE.test(line);
  }

  // Underscore emphasis only between non-word characters (snake_case and __dunder__ names stay text).
  const INLINE = /(`+)([\s\S]*?[^`])\1(?!`)|\*\*(?=\S)([^*]+?)\*\*|(?<!\w)__(?=\S)([^_]+?)__(?!\w)|~~(?=\S)([^~]+?)~~|\*(?=[^*\s])([^*]+?)\*|(?<!\w)_(?=[^_\s])([^_]+?)_(?!\w)|\[([^\]]+)\]\(\s*((?:https?:\/\/|mailto:)[^\s)]+)\s*\)|(https?:\/\/[^\s<>()]+[^\s<>().,;:!?'"])/;

  function inline(text, parent) {
    let rest = text;
    while (rest.length) {
      const m = rest.match(INLINE);
      if (!m) { parent.appendChild(document.createTextNode(rest)); return; }
      if (m.index > 0) parent.appendChild(document.createTextNode(rest.slice(0, m.index)));
      let node;
      if (m[1]) {
        node = document.createElement('code');
        node.textContent = m[2];
      } else if (m[3] || m[4]) {
        node = document.createElement('strong');
        inline(m[3] || m[4], node);
      } else if (m[5]) {
        node = document.createElement('del');
        inline(m[5], node);
      } else if (m[6] || m[7]) {
        node = document.createElement('em');
        inline(m[6] || m[7], node);
      } else if (m[8]) {
        node = link(m[9]);
        inline(m[8], node);
      } else {
        node = link(m[10]);
        node.textContent = m[10];
      }
      parent.appendChild(node);
      rest = rest.slice(m.index + m[0].length);
    }
  }

  function link(href) {
    const a = document.createElement('a');
    a.href = href; // only http(s) and mailto reach here (the patterns above)
    a.rel = 'noopener noreferrer nofollow';
    a.target = '_blank';
    return a;
  }

  global.SafeMarkdown = { render };
})(window);
