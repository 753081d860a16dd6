exports.handler = async () => ({ from: 'dir/sub' });
