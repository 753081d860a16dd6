export const handler = async (event) => ({ esm: true, fileURL: import.meta.url.startsWith('file://'), name: event.name });
