// The visitor's strings, from the catalogues in i18n/ (see build.mjs). A language without a
// catalogue falls back to its primary language, then to Japanese; a key a translation lacks
// falls back to Japanese, so a half-done translation never shows a blank.

export function chooseLang (sections, wanted) {
  const lang = String(wanted || '').toLowerCase()
  if (sections[lang]) return lang
  const primary = lang.split('-')[0]
  return sections[primary] ? primary : 'ja'
}

export function strings (sections, lang) {
  return { ...sections.ja, ...sections[lang] }
}

// "新着{n}件" → "新着3件"; values are inserted as text by the callers (textContent).
export function fill (text, values) {
  return text.replace(/\{(\w+)\}/g, (_, key) => String(values[key]))
}
