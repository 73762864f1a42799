// JavaScript style: Standard (via neostandard), as GOV.UK Frontend and STYLE.md ask.
import neostandard from 'neostandard'

export default neostandard({ env: ['browser'], ignores: ['dist/**', 'node_modules/**'] })
