module.exports = { ...require('../../jest.preset.js'), displayName: 'template', rootDir: __dirname };
